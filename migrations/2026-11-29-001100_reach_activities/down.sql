DROP TABLE reach_activities;
