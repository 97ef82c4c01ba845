DROP TABLE training_sessions;
