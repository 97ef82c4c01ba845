//! The authorisation matrix, built from the route table: every operation of the OpenAPI document x every
//! role (and no token), inside and outside the caller's scope. An operation without a policy decision or
//! without a row here fails this test.

use cdt_api::{
    auth::{Operation, policy::Access},
    openapi::ApiSpec,
};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// How to call an operation: method, path (with `{in}` for an id inside the caller's scope, `{out}` for
/// one outside), body.
fn request_for(operation: &str) -> Option<(Method, &'static str, Option<serde_json::Value>)> {
    Some(match operation {
        "check_health" => (Method::GET, "/healthz", None),
        "check_readiness" => (Method::GET, "/readyz", None),
        "get_metrics" => (Method::GET, "/metrics", None),
        "get_openapi_document" => (Method::GET, "/openapi.json", None),
        "get_problem_type" => (Method::GET, "/problems/period_locked", None),
        "get_api_root" => (Method::GET, "/api/v1", None),
        "login" => (
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": "admin", "password": PASSWORD})),
        ),
        "refresh_session" => (
            Method::POST,
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": "x"})),
        ),
        "logout" => (
            Method::POST,
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": "x"})),
        ),
        "get_me" => (Method::GET, "/api/v1/me", None),
        "update_me" => (
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"display_name": "Tên mới"})),
        ),
        "change_my_password" => (
            Method::POST,
            "/api/v1/me/password",
            Some(
                json!({"current_password": "wrong password x", "new_password": "Suối Sập chảy qua bản Mòng"}),
            ),
        ),
        "list_org_units" => (Method::GET, "/api/v1/org-units", None),
        "find_org_unit" => (Method::GET, "/api/v1/org-units/{unit}", None),
        "list_org_unit_children" => (Method::GET, "/api/v1/org-units/{unit}/children", None),
        "create_org_unit" => (
            Method::POST,
            "/api/v1/org-units",
            Some(
                json!({"code": "ban-moi-{n}", "name": "Bản Mới", "level": "village", "kind": "ban", "parent_id": "{unit}"}),
            ),
        ),
        "update_org_unit" => (
            Method::PATCH,
            "/api/v1/org-units/{unit}",
            Some(json!({"households": 1200})),
        ),
        "reorganize_org_units" => (
            Method::POST,
            "/api/v1/org-units/reorganizations",
            Some(
                json!({"effective_on": "2026-01-01", "predecessor_ids": ["{village}"],
                        "successor": {"code": "ban-hop-nhat-{n}", "name": "Bản Hợp Nhất", "level": "village",
                                      "kind": "ban", "parent_id": "{unit}"}}),
            ),
        ),
        "get_reference" => (Method::GET, "/api/v1/reference", None),
        "list_teams" => (Method::GET, "/api/v1/teams", None),
        "find_team" => (Method::GET, "/api/v1/teams/{team}", None),
        "create_team" => (
            Method::POST,
            "/api/v1/teams",
            Some(json!({"code": "TEAM-NEW-{n}", "name": "Tổ mới", "org_unit_id": "{unit}"})),
        ),
        "update_team" => (
            Method::PATCH,
            "/api/v1/teams/{team}",
            Some(json!({"notes": "Ghi chú"})),
        ),
        "dissolve_team" => (
            Method::POST,
            "/api/v1/teams/{spare}/dissolve",
            Some(json!({"dissolved_on": "2025-08-01", "reason": "Sáp nhập"})),
        ),
        "list_team_members" => (Method::GET, "/api/v1/teams/{team}/members", None),
        "add_team_member" => (
            Method::POST,
            "/api/v1/teams/{team}/members",
            Some(
                json!({"person": {"full_name": "Người mới {n}"}, "role": "member", "joined_on": "2025-08-01"}),
            ),
        ),
        "update_team_member" => (
            Method::PATCH,
            "/api/v1/teams/{team}/members/{membership}",
            Some(json!({"affiliation": "teacher"})),
        ),
        "end_team_member" => (
            Method::DELETE,
            "/api/v1/teams/{team}/members/{membership}",
            None,
        ),
        "list_people" => (Method::GET, "/api/v1/people", None),
        "find_person" => (Method::GET, "/api/v1/people/{person}", None),
        "erase_personal_data" => (
            Method::DELETE,
            "/api/v1/people/{former}/personal-data",
            None,
        ),
        "list_personal_data_reads" => (Method::GET, "/api/v1/personal-data-reads", None),
        "import_teams" => (
            Method::POST,
            "/api/v1/imports/teams?dry_run=true",
            Some(json!([])),
        ),
        "import_members" => (
            Method::POST,
            "/api/v1/imports/members?dry_run=true",
            Some(json!([])),
        ),
        "get_import_template" => (Method::GET, "/api/v1/imports/members/template", None),
        "list_training_sessions" => (Method::GET, "/api/v1/training-sessions", None),
        "find_training_session" => (Method::GET, "/api/v1/training-sessions/{session}", None),
        "create_training_session" => (
            Method::POST,
            "/api/v1/training-sessions",
            Some(
                json!({"team_id": "{team}", "kind": "outreach", "held_on": "{yesterday}", "duration_minutes": 60,
                        "format": "door_to_door", "topics": ["fraud_prevention"], "participants_total": 12,
                        "participants_female": 6, "participants_ethnic_minority": 10, "participants_elderly": 2,
                        "households_reached": 8}),
            ),
        ),
        "update_training_session" => (
            Method::PATCH,
            "/api/v1/training-sessions/{session}",
            Some(json!({"venue": "Sân bản"})),
        ),
        "delete_training_session" => (Method::DELETE, "/api/v1/training-sessions/{session}", None),
        "verify_training_session" => (
            Method::POST,
            "/api/v1/training-sessions/{session}/verify",
            None,
        ),
        "reject_training_session" => (
            Method::POST,
            "/api/v1/training-sessions/{session}/reject",
            Some(json!({"reason": "Thiếu danh sách điểm danh"})),
        ),
        "list_campaigns" => (Method::GET, "/api/v1/campaigns", None),
        "find_campaign" => (Method::GET, "/api/v1/campaigns/{campaign}", None),
        "create_campaign" => (
            Method::POST,
            "/api/v1/campaigns",
            Some(
                json!({"code": "campaign-{n}", "name": "Chiến dịch", "owner": "Sở KH&CN", "starts_on": "2025-01-01",
                        "ends_on": "2030-12-31"}),
            ),
        ),
        "update_campaign" => (
            Method::PATCH,
            "/api/v1/campaigns/{campaign}",
            Some(json!({"status": "active"})),
        ),
        "list_reach_activities" => (
            Method::GET,
            "/api/v1/campaigns/{campaign}/reach-activities",
            None,
        ),
        "create_reach_activity" => (
            Method::POST,
            "/api/v1/campaigns/{campaign}/reach-activities",
            Some(
                json!({"team_id": "{team}", "channel": "meeting", "occurred_on": "{yesterday}", "contacts": 10,
                        "households_reached": 5, "method": "headcount", "confidence": "high"}),
            ),
        ),
        "find_reach_activity" => (Method::GET, "/api/v1/reach-activities/{activity}", None),
        "update_reach_activity" => (
            Method::PATCH,
            "/api/v1/reach-activities/{activity}",
            Some(json!({"contacts": 12})),
        ),
        "delete_reach_activity" => (Method::DELETE, "/api/v1/reach-activities/{activity}", None),
        "verify_reach_activity" => (
            Method::POST,
            "/api/v1/reach-activities/{activity}/verify",
            None,
        ),
        "reject_reach_activity" => (
            Method::POST,
            "/api/v1/reach-activities/{activity}/reject",
            Some(json!({"reason": "Thiếu biên bản"})),
        ),
        "get_reach_summary" => (
            Method::GET,
            "/api/v1/campaigns/{campaign}/reach-summary?org_unit_id={unit}",
            None,
        ),
        "list_targets" => (Method::GET, "/api/v1/targets", None),
        "find_target" => (Method::GET, "/api/v1/targets/{target}", None),
        "create_target" => (
            Method::POST,
            "/api/v1/targets",
            Some(
                json!({"org_unit_id": "{target_unit}", "indicator": "people_trained", "period_start": "2031-01-01",
                        "period_end": "{day}", "value": 100}),
            ),
        ),
        "update_target" => (
            Method::PATCH,
            "/api/v1/targets/{target}",
            Some(json!({"value": 150})),
        ),
        "delete_target" => (Method::DELETE, "/api/v1/targets/{target}", None),
        "import_indicator_values" => (
            Method::POST,
            "/api/v1/indicator-values?dry_run=true",
            Some(json!([])),
        ),
        "list_indicator_values" => (Method::GET, "/api/v1/indicator-values", None),
        "report_dormant_teams" => (Method::GET, "/api/v1/reports/dormant-teams?days=30", None),
        "sync_pull" => (Method::GET, "/api/v1/sync/pull?limit=50", None),
        // tus uploads: "inside" is an upload of the caller's own, "outside" another user's (an upload
        // belongs to its uploader, admins included). The tus headers and body are added below.
        "describe_uploads" => (Method::OPTIONS, "/api/v1/uploads", None),
        "create_upload" => (Method::POST, "/api/v1/uploads", None),
        "get_upload_offset" => (Method::HEAD, "/api/v1/uploads/{upload}", None),
        "append_to_upload" => (Method::PATCH, "/api/v1/uploads/{upload}", None),
        "delete_upload" => (Method::DELETE, "/api/v1/uploads/{upload}", None),
        "list_session_attachments" => (
            Method::GET,
            "/api/v1/training-sessions/{session}/attachments",
            None,
        ),
        "attach_to_session" => (
            Method::POST,
            "/api/v1/training-sessions/{session}/attachments",
            Some(json!({"upload_id": "{finished_upload}", "kind": "photo"})),
        ),
        "list_reach_activity_attachments" => (
            Method::GET,
            "/api/v1/reach-activities/{activity}/attachments",
            None,
        ),
        "attach_to_reach_activity" => (
            Method::POST,
            "/api/v1/reach-activities/{activity}/attachments",
            Some(json!({"upload_id": "{finished_upload}", "kind": "attendance_sheet"})),
        ),
        // "Inside" an attachment of a session in the caller's scope, "outside" one elsewhere.
        "find_attachment" => (Method::GET, "/api/v1/attachments/{attachment}", None),
        "download_attachment" => (
            Method::GET,
            "/api/v1/attachments/{attachment}/content",
            None,
        ),
        "get_attachment_thumbnail" => (
            Method::GET,
            "/api/v1/attachments/{attachment}/thumbnail",
            None,
        ),
        "delete_attachment" => (Method::DELETE, "/api/v1/attachments/{attachment}", None),
        "sync_push" => (
            Method::POST,
            "/api/v1/sync/push",
            Some(
                json!({"items": [{"type": "training_session", "op": "delete", "id": "{session}", "base_version": 999}]}),
            ),
        ),
        "list_sync_conflicts" => (Method::GET, "/api/v1/sync/conflicts", None),
        "resolve_sync_conflict" => (
            Method::POST,
            "/api/v1/sync/conflicts/{conflict}/resolve",
            Some(json!({"resolution": "keep_server"})),
        ),
        "report_summary" => (
            Method::GET,
            "/api/v1/reports/summary?org_unit_id={unit}",
            None,
        ),
        "report_breakdown" => (
            Method::GET,
            "/api/v1/reports/breakdown?by=child_unit&org_unit_id={unit}",
            None,
        ),
        "report_targets" => (
            Method::GET,
            "/api/v1/reports/targets?org_unit_id={unit}&from=2030-01-01&to=2030-12-31",
            None,
        ),
        "report_workbook" => (
            Method::GET,
            "/api/v1/reports/workbook?org_unit_id={unit}&from=2030-01-01&to=2030-12-31",
            None,
        ),
        "list_all_reach_activities" => (
            Method::GET,
            "/api/v1/reach-activities?org_unit_id={unit}",
            None,
        ),
        "review_training_sessions" => (
            Method::POST,
            "/api/v1/training-sessions/review",
            Some(json!({"decision": "verify", "ids": ["{session}"]})),
        ),
        "review_reach_activities" => (
            Method::POST,
            "/api/v1/reach-activities/review",
            Some(json!({"decision": "verify", "ids": ["{activity}"]})),
        ),
        "transition_sign_offs" => (
            Method::POST,
            "/api/v1/sign-offs/bulk",
            Some(
                json!({"action": "submit", "items": [{"org_unit_id": "{unit}", "period": "2026-05"}]}),
            ),
        ),
        "list_sign_offs" => (
            Method::GET,
            "/api/v1/sign-offs?org_unit_id={unit}&from=2026-01&to=2026-06",
            None,
        ),
        "find_sign_off" => (Method::GET, "/api/v1/sign-offs/{unit}/2026-02", None),
        // Each transition on a month of its own, set up in the state it leaves from.
        "submit_sign_off" => (
            Method::POST,
            "/api/v1/sign-offs/{unit}/2026-01/submit",
            Some(json!({"note": "Đủ số liệu"})),
        ),
        "accept_sign_off" => (
            Method::POST,
            "/api/v1/sign-offs/{unit}/2026-02/accept",
            Some(json!({})),
        ),
        "return_sign_off" => (
            Method::POST,
            "/api/v1/sign-offs/{unit}/2026-03/return",
            Some(json!({"reason": "Chưa khớp danh sách"})),
        ),
        "reopen_sign_off" => (
            Method::POST,
            "/api/v1/sign-offs/{unit}/2026-04/reopen",
            Some(json!({"reason": "Bổ sung số liệu"})),
        ),
        // "Inside" is a subscription of the officer's, "outside" one of the admin's: an officer never sees
        // another's. Each case gets a fresh one (earlier cases may have deleted theirs).
        "list_webhooks" => (Method::GET, "/api/v1/webhooks", None),
        "create_webhook" => (
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.org/cdt", "event_types": ["*"]})),
        ),
        "find_webhook" => (Method::GET, "/api/v1/webhooks/{webhook}", None),
        "update_webhook" => (
            Method::PATCH,
            "/api/v1/webhooks/{webhook}",
            Some(json!({"description": "Đổi mô tả"})),
        ),
        "delete_webhook" => (Method::DELETE, "/api/v1/webhooks/{webhook}", None),
        "rotate_webhook_secret" => (
            Method::POST,
            "/api/v1/webhooks/{webhook}/rotate-secret",
            None,
        ),
        "test_webhook" => (Method::POST, "/api/v1/webhooks/{webhook}/test", None),
        "list_webhook_deliveries" => (Method::GET, "/api/v1/webhooks/{webhook}/deliveries", None),
        "retry_webhook_delivery" => (
            Method::POST,
            "/api/v1/webhooks/{webhook}/deliveries/{delivery}/retry",
            None,
        ),
        "replay_webhook" => (
            Method::POST,
            "/api/v1/webhooks/{webhook}/replay",
            Some(json!({"since": "2026-01-01T00:00:00Z"})),
        ),
        "list_users" => (Method::GET, "/api/v1/users", None),
        "list_audit_events" => (Method::GET, "/api/v1/audit-events", None),
        "find_user" => (Method::GET, "/api/v1/users/{user}", None),
        "create_user" => (
            Method::POST,
            "/api/v1/users",
            Some(
                json!({"username": "moi.{n}", "display_name": "Mới", "password": "Suối Sập chảy qua bản Mòng",
                        "role": "viewer", "org_unit_id": "{unit}"}),
            ),
        ),
        "update_user" => (
            Method::PATCH,
            "/api/v1/users/{user}",
            Some(json!({"display_name": "Đổi tên"})),
        ),
        "reset_user_password" => (
            Method::POST,
            "/api/v1/users/{user}/reset-password",
            Some(json!({"new_password": "Suối Sập chảy qua bản Mòng"})),
        ),
        _ => return None,
    })
}

/// Operations on one record, which outside the caller's scope must read as missing.
fn scoped_path(path: &str, id: &str) -> bool {
    [
        "{user}",
        "{team}",
        "{person}",
        "{spare}",
        "{session}",
        "{activity}",
        "{target}",
        "{conflict}",
        "{webhook}",
        "{upload}",
        "{attachment}",
    ]
    .iter()
    .any(|p| path.contains(p))
        || id == "update_org_unit"
}

#[actix_web::test]
async fn every_route_has_a_policy_decision_that_holds_for_every_role_and_scope() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let inside = app.unit_id("son-la.xa-van-ho");
    let outside = app.unit_id("son-la.phuong-to-hieu");
    let team_inside = app.create_team("TEAM-IN", inside);
    let team_outside = app.create_team("TEAM-OUT", outside);
    let (membership_inside, person_inside) =
        app.add_member(team_inside, "Lò Thị Xuân", Some("+84912345678"), "member");
    let (membership_outside, person_outside) =
        app.add_member(team_outside, "Cầm Văn Đức", Some("+84987654321"), "member");
    let mut former = Vec::new();
    for (team, name) in [(team_inside, "Quàng Văn Cũ"), (team_outside, "Hà Thị Cũ")] {
        let (membership, person) = app.add_member(team, name, None, "member");
        diesel::update(cdt_api::db::schema::memberships::table.find(membership))
            .set(
                cdt_api::db::schema::memberships::left_on
                    .eq(Some(chrono::NaiveDate::from_ymd_opt(2025, 7, 2).unwrap())),
            )
            .execute(&mut app.database.connect())
            .unwrap();
        former.push(person);
    }
    let spare_inside: Vec<_> = (0..12)
        .map(|i| app.create_team(&format!("SPARE-IN-{i}"), inside))
        .collect();
    let spare_outside: Vec<_> = (0..12)
        .map(|i| app.create_team(&format!("SPARE-OUT-{i}"), outside))
        .collect();
    app.create_user("admin", "admin", None);
    app.create_user("officer", "officer", Some(inside));
    let leader_id = app.create_team_leader("team_leader", team_inside);
    let sessions_inside: Vec<_> = (0..120)
        .map(|_| app.create_session(team_inside, leader_id))
        .collect();
    let sessions_outside: Vec<_> = (0..120)
        .map(|_| app.create_session(team_outside, leader_id))
        .collect();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let campaign = create_campaign(&app);
    let target_unit_inside = create_village(&app, inside, "son-la.xa-van-ho.to-targets");
    let target_unit_outside = create_village(&app, outside, "son-la.phuong-to-hieu.to-1");
    let targets_inside: Vec<_> = (0..60)
        .map(|i| create_target(&app, target_unit_inside, i, leader_id))
        .collect();
    let targets_outside: Vec<_> = (0..60)
        .map(|i| create_target(&app, target_unit_outside, i, leader_id))
        .collect();
    let conflicts_inside: Vec<_> = (0..60)
        .map(|i| create_conflict(&app, team_inside, sessions_inside[0], leader_id, i))
        .collect();
    let conflicts_outside: Vec<_> = (0..60)
        .map(|i| create_conflict(&app, team_outside, sessions_outside[0], leader_id, i))
        .collect();
    let activities_inside: Vec<_> = (0..120)
        .map(|_| create_activity(&app, campaign, team_inside, leader_id))
        .collect();
    let activities_outside: Vec<_> = (0..120)
        .map(|_| create_activity(&app, campaign, team_outside, leader_id))
        .collect();
    app.create_user("viewer", "viewer", Some(inside));
    for unit in [inside, outside] {
        for (period, state) in [
            ("2026-02-01", "submitted"),
            ("2026-03-01", "submitted"),
            ("2026-04-01", "accepted"),
        ] {
            diesel::sql_query(format!(
                "INSERT INTO sign_offs (id, org_unit_id, period, state) VALUES ('{}', '{unit}', '{period}', '{state}')",
                uuid::Uuid::now_v7()
            ))
            .execute(&mut app.database.connect())
            .unwrap();
        }
    }
    let webhooks_inside = create_webhooks(&app, "officer");
    let webhooks_outside = create_webhooks(&app, "admin");
    let user_inside = app.create_user("target.inside", "viewer", Some(inside));
    let user_outside = app.create_user("target.outside", "viewer", Some(outside));

    let document: serde_json::Value = serde_json::from_str(ApiSpec::build().json()).unwrap();
    let mut operations = Vec::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            operations.push(operation["operationId"].as_str().unwrap().to_owned());
        }
    }
    for id in &operations {
        assert!(
            Operation::from_id(id).is_some(),
            "{id} has no decision in auth::policy"
        );
        assert!(
            request_for(id).is_some(),
            "{id} has no row in the authorization matrix test"
        );
    }
    for operation in Operation::ALL {
        assert!(
            operations.iter().any(|id| id == operation.id()),
            "{} is not routed",
            operation.id()
        );
    }

    // Villages to merge in the reorganisation rows: one per case, each in force until merged.
    let mut villages = Vec::new();
    for index in 0..40 {
        let mut conn = app.database.connect();
        let parent = cdt_api::models::org_unit::find(&mut conn, inside).unwrap();
        let village = cdt_api::models::org_unit::NewOrgUnit {
            id: uuid::Uuid::now_v7(),
            code: format!("son-la.xa-van-ho.ban-{index}"),
            name: format!("Bản {index}"),
            level: cdt_api::reference::OrgUnitLevel::Village,
            kind: cdt_api::reference::OrgUnitKind::Ban,
            parent_id: None,
            path: String::new(),
            depth: 0,
            valid_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            valid_to: None,
            households: None,
            population: None,
        }
        .placed_under(Some(&parent));
        villages.push(
            cdt_api::models::org_unit::insert(&mut conn, &village)
                .unwrap()
                .id,
        );
    }
    let mut tokens = std::collections::HashMap::new();
    for role in ["admin", "officer", "team_leader", "viewer"] {
        tokens.insert(role, app.token(role).await);
    }
    let mut user_ids = std::collections::HashMap::new();
    for role in ["admin", "officer", "team_leader", "viewer"] {
        let id = cdt_api::models::user::find_by_username(&mut app.database.connect(), role)
            .unwrap()
            .unwrap()
            .id;
        user_ids.insert(role, id);
    }
    let stranger = app.create_user("stranger", "officer", Some(outside));
    // One stored photo (through the API, so its file and thumbnail exist) that every attachment of the
    // matrix shows.
    let photo = crate::uploads::upload(
        &app,
        &tokens["admin"],
        &crate::uploads::jpeg(64, 48),
        "matrix.jpg",
    )
    .await;
    let photo_sha: String = cdt_api::db::schema::uploads::table
        .find(photo.parse::<uuid::Uuid>().unwrap())
        .select(cdt_api::db::schema::uploads::blob_sha256)
        .first::<Option<String>>(&mut app.database.connect())
        .unwrap()
        .unwrap();
    let mut counter = 0;
    let mut session_counter = 0;
    let mut webhook_counter = 0;
    for id in &operations {
        let operation = Operation::from_id(id).unwrap();
        let (method, path, body) = request_for(id).unwrap();
        let roles = [
            None,
            Some("admin"),
            Some("officer"),
            Some("team_leader"),
            Some("viewer"),
        ];
        for role in roles {
            let scopes = [
                (
                    "inside",
                    inside,
                    user_inside,
                    team_inside,
                    membership_inside,
                    person_inside,
                    former[0],
                    &spare_inside,
                    &sessions_inside,
                    &activities_inside,
                    &targets_inside,
                    target_unit_inside,
                    &conflicts_inside,
                    &webhooks_inside,
                ),
                (
                    "outside",
                    outside,
                    user_outside,
                    team_outside,
                    membership_outside,
                    person_outside,
                    former[1],
                    &spare_outside,
                    &sessions_outside,
                    &activities_outside,
                    &targets_outside,
                    target_unit_outside,
                    &conflicts_outside,
                    &webhooks_outside,
                ),
            ];
            for (
                scope,
                unit,
                user,
                team,
                membership,
                person,
                former_person,
                spare,
                sessions,
                activities,
                targets,
                target_unit,
                conflicts,
                webhooks,
            ) in scopes
            {
                counter += 1;
                // Every case on one session gets a fresh one: earlier cases may have deleted or verified theirs.
                if path.contains("{session}")
                    || path.contains("{activity}")
                    || path.contains("{target}")
                    || path.contains("{conflict}")
                {
                    session_counter += 1;
                }
                if path.contains("{webhook}") {
                    webhook_counter += 1;
                }
                let fill = |text: &str| {
                    text.replace("{unit}", &unit.to_string())
                        .replace("{village}", &villages[counter % villages.len()].to_string())
                        .replace("{user}", &user.to_string())
                        .replace("{team}", &team.to_string())
                        .replace("{membership}", &membership.to_string())
                        .replace("{person}", &person.to_string())
                        .replace("{former}", &former_person.to_string())
                        .replace("{spare}", &spare[counter % spare.len()].to_string())
                        .replace(
                            "{session}",
                            &sessions[session_counter % sessions.len()].to_string(),
                        )
                        .replace(
                            "{activity}",
                            &activities[session_counter % activities.len()].to_string(),
                        )
                        .replace("{campaign}", &campaign.to_string())
                        .replace("{target_unit}", &target_unit.to_string())
                        .replace(
                            "{conflict}",
                            &conflicts[session_counter % conflicts.len()].to_string(),
                        )
                        .replace(
                            "{target}",
                            &targets[session_counter % targets.len()].to_string(),
                        )
                        .replace(
                            "{day}",
                            &(chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap()
                                + chrono::Duration::days(counter as i64))
                            .to_string(),
                        )
                        .replace(
                            "{webhook}",
                            &webhooks[webhook_counter % webhooks.len()].0.to_string(),
                        )
                        .replace(
                            "{delivery}",
                            &webhooks[webhook_counter % webhooks.len()].1.to_string(),
                        )
                        .replace("{yesterday}", &yesterday)
                        .replace("{n}", &counter.to_string())
                };
                // Uploads and attachments made for this case: the caller's own inside, a stranger's
                // outside; attachments on this case's session.
                let owner = match (scope, role) {
                    ("inside", Some(role)) => user_ids[role],
                    _ => stranger,
                };
                let raw = |text: &str| {
                    let mut text = fill(text);
                    if text.contains("{upload}") {
                        let id = matrix_upload(&app, owner, None);
                        text = text.replace("{upload}", &id.to_string());
                    }
                    if text.contains("{finished_upload}") {
                        let id = matrix_upload(&app, owner, Some(&photo_sha));
                        text = text.replace("{finished_upload}", &id.to_string());
                    }
                    if text.contains("{attachment}") {
                        let session = app.create_session(team, owner);
                        let id = matrix_attachment(&app, session, team, owner, &photo_sha);
                        text = text.replace("{attachment}", &id.to_string());
                    }
                    text
                };
                let mut request = app.request(method.clone(), &raw(path));
                if let Some(body) = &body {
                    let filled: serde_json::Value =
                        serde_json::from_str(&raw(&body.to_string())).unwrap();
                    request = request.json(&filled);
                }
                if path.starts_with("/api/v1/uploads") {
                    request = request.header("Tus-Resumable", "1.0.0");
                    if method == Method::POST {
                        request = request.header("Upload-Length", "100");
                    }
                    if method == Method::PATCH {
                        let mut pdf = b"%PDF-1.4\n".to_vec();
                        pdf.resize(100, b' ');
                        request = request
                            .header("Upload-Offset", "0")
                            .header("Content-Type", "application/offset+octet-stream")
                            .body(pdf);
                    }
                }
                if let Some(role) = role {
                    request = request.bearer_auth(&tokens[role]);
                }
                let status = request.send().await.unwrap().status().as_u16();
                let case = format!("{id} as {role:?} {scope}: {status}");
                let hidden = scope == "outside" && scoped_path(path, id);
                // Operations on one unit's months (the bulk one answers per item instead).
                let sign_off = id.contains("sign_off") && id != "transition_sign_offs";
                match (operation.access(), role) {
                    // Only the metrics token opens metrics; no user's token does.
                    (Access::MetricsToken, _) => assert_eq!(status, 401, "{case}"),
                    // Another user's upload does not exist for anyone, admins included.
                    (Access::Roles(roles), Some(role))
                        if path.contains("{upload}")
                            && scope == "outside"
                            && roles.iter().any(|r| r.as_str() == role) =>
                    {
                        assert_eq!(status, 404, "{case}")
                    }
                    // A viewer in scope sees an attachment's metadata, not its bytes.
                    (Access::SignedIn, Some("viewer"))
                        if scope == "inside"
                            && matches!(
                                id.as_str(),
                                "download_attachment" | "get_attachment_thumbnail"
                            ) =>
                    {
                        assert_eq!(status, 403, "{case}")
                    }
                    // Public operations answer for themselves (a bad refresh token is 401), never 403.
                    (Access::Public, _) => assert!(status != 403 && status < 500, "{case}"),
                    (_, None) => assert_eq!(status, 401, "{case}"),
                    // Another commune's months read as missing to everyone scoped; the province (the
                    // parent's scope) accepts and returns, not the commune's own officer.
                    (Access::SignedIn, Some(role))
                        if sign_off && role != "admin" && scope == "outside" =>
                    {
                        assert_eq!(status, 404, "{case}")
                    }
                    (Access::Roles(roles), Some(role))
                        if sign_off
                            && role != "admin"
                            && roles.iter().any(|r| r.as_str() == role) =>
                    {
                        let expected = if scope == "outside" {
                            404
                        } else if matches!(id.as_str(), "accept_sign_off" | "return_sign_off") {
                            403
                        } else {
                            200
                        };
                        assert_eq!(status, expected, "{case}")
                    }
                    (Access::SignedIn, Some(role)) if role != "admin" && hidden => {
                        assert_eq!(status, 404, "{case}: outside the scope reads as missing")
                    }
                    // A summary of another subtree: officers and viewers cannot see it; team leaders see their
                    // own team's part of any subtree.
                    (Access::SignedIn, Some("officer" | "viewer"))
                        if matches!(
                            id.as_str(),
                            "get_reach_summary"
                                | "report_summary"
                                | "report_breakdown"
                                | "report_targets"
                                | "report_workbook"
                        ) && scope == "outside" =>
                    {
                        assert_eq!(status, 404, "{case}")
                    }
                    (Access::SignedIn, Some(_)) => assert!(status < 400 || status == 422, "{case}"),
                    (Access::Roles(roles), Some(role)) => {
                        let allowed = roles.iter().any(|r| r.as_str() == role);
                        if !allowed {
                            assert_eq!(status, 403, "{case}");
                        } else if role != "admin" && hidden {
                            assert_eq!(status, 404, "{case}: outside the scope reads as missing");
                        } else if role == "officer"
                            && scope == "outside"
                            && matches!(
                                id.as_str(),
                                "create_user" | "create_team" | "create_target"
                            )
                        {
                            assert_eq!(status, 403, "{case}: may not create outside the scope");
                        } else {
                            assert!(status < 400 || status == 422, "{case}");
                        }
                    }
                }
            }
        }
    }
}

/// Subscriptions of `owner` (with a queued ping each), one per matrix case that may consume one.
fn create_webhooks(app: &TestApp, owner: &str) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    let mut conn = app.database.connect();
    let owner = cdt_api::models::user::find_by_username(&mut conn, owner)
        .unwrap()
        .unwrap()
        .id;
    (0..100)
        .map(|_| {
            let fields = cdt_api::models::webhook::SubscriptionFields {
                url: "https://hooks.example.org/cdt".to_owned(),
                event_types: vec![Some("ping".to_owned())],
                description: None,
                enabled: false,
            };
            let id = uuid::Uuid::now_v7();
            cdt_api::models::webhook::insert(&mut conn, id, owner, &fields, &[1; 32]).unwrap();
            cdt_api::models::webhook::ping(&mut conn, id, &json!({})).unwrap();
            let delivery = cdt_api::db::schema::webhook_deliveries::table
                .filter(cdt_api::db::schema::webhook_deliveries::subscription_id.eq(id))
                .select(cdt_api::db::schema::webhook_deliveries::id)
                .first(&mut conn)
                .unwrap();
            (id, delivery)
        })
        .collect()
}

/// An upload of `owner`: unfinished (100 bytes expected), or finished as the stored file `sha`.
fn matrix_upload(app: &TestApp, owner: uuid::Uuid, sha: Option<&str>) -> uuid::Uuid {
    let mut conn = app.database.connect();
    let upload = cdt_api::models::upload::insert(
        &mut conn,
        &cdt_api::models::upload::NewUpload {
            id: uuid::Uuid::now_v7(),
            uploader_id: owner,
            team_id: None,
            length: 100,
            file_name: None,
            metadata: json!({}),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        },
    )
    .unwrap();
    if let Some(sha) = sha {
        cdt_api::models::upload::finish(
            &mut conn,
            upload.id,
            sha,
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    }
    upload.id
}

/// An attachment of `session` (of `team`) showing the stored file `sha`.
fn matrix_attachment(
    app: &TestApp,
    session: uuid::Uuid,
    team: uuid::Uuid,
    owner: uuid::Uuid,
    sha: &str,
) -> uuid::Uuid {
    let upload = matrix_upload(app, owner, Some(sha));
    cdt_api::models::attachment::insert(
        &mut app.database.connect(),
        &cdt_api::models::attachment::NewAttachment {
            id: uuid::Uuid::now_v7(),
            training_session_id: Some(session),
            reach_activity_id: None,
            team_id: team,
            upload_id: upload,
            blob_sha256: sha.to_owned(),
            kind: "photo".to_owned(),
            caption: None,
            file_name: None,
            uploaded_by: owner,
        },
    )
    .unwrap()
    .id
}

fn create_campaign(app: &TestApp) -> uuid::Uuid {
    let today = chrono::Utc::now().date_naive();
    let fields = cdt_api::models::campaign::CampaignFields {
        code: "matrix-campaign".to_owned(),
        name: "Chiến dịch".to_owned(),
        name_en: None,
        owner: "Sở KH&CN".to_owned(),
        starts_on: today - chrono::Duration::days(30),
        ends_on: today + chrono::Duration::days(30),
        description: None,
        skill_groups: Vec::new(),
        fraud_types: Vec::new(),
        status: cdt_api::reference::Choice::from_code("active"),
    };
    cdt_api::models::campaign::insert(&mut app.database.connect(), uuid::Uuid::now_v7(), &fields)
        .unwrap()
        .id
}

fn create_activity(
    app: &TestApp,
    campaign: uuid::Uuid,
    team: uuid::Uuid,
    by: uuid::Uuid,
) -> uuid::Uuid {
    let mut conn = app.database.connect();
    let unit = cdt_api::models::team::find(&mut conn, team)
        .unwrap()
        .org_unit_id;
    let fields = cdt_api::models::reach_activity::ActivityFields {
        campaign_id: campaign,
        team_id: team,
        org_unit_id: unit,
        channel: cdt_api::reference::Choice::from_code("meeting"),
        occurred_on: chrono::Utc::now().date_naive() - chrono::Duration::days(1),
        contacts: 10,
        unique_people: Some(9),
        households_reached: 5,
        estimated_audience: None,
        method: cdt_api::reference::Choice::from_code("headcount"),
        confidence: cdt_api::reference::Choice::from_code("high"),
        skill_groups: Vec::new(),
        fraud_types: Vec::new(),
        materials_distributed: 0,
        session_id: None,
        notes: None,
        recorded_at: None,
    };
    cdt_api::models::reach_activity::insert(&mut conn, uuid::Uuid::now_v7(), &fields, by)
        .unwrap()
        .unwrap()
        .id
}

fn create_village(app: &TestApp, commune: uuid::Uuid, code: &str) -> uuid::Uuid {
    let mut conn = app.database.connect();
    let parent = cdt_api::models::org_unit::find(&mut conn, commune).unwrap();
    let village = cdt_api::models::org_unit::NewOrgUnit {
        id: uuid::Uuid::now_v7(),
        code: code.to_owned(),
        name: "Tổ dân phố 1".to_owned(),
        level: cdt_api::reference::OrgUnitLevel::Village,
        kind: cdt_api::reference::OrgUnitKind::ToDanPho,
        parent_id: None,
        path: String::new(),
        depth: 0,
        valid_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        valid_to: None,
        households: None,
        population: None,
    }
    .placed_under(Some(&parent));
    cdt_api::models::org_unit::insert(&mut conn, &village)
        .unwrap()
        .id
}

fn create_target(app: &TestApp, unit: uuid::Uuid, index: i64, by: uuid::Uuid) -> uuid::Uuid {
    let start =
        chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap() + chrono::Duration::days(index);
    let fields = cdt_api::models::target::TargetFields {
        org_unit_id: Some(unit),
        team_id: None,
        indicator: cdt_api::reference::Choice::from_code("sessions_held"),
        period_start: start,
        period_end: start,
        value: 10.0,
        campaign_id: None,
    };
    cdt_api::models::target::insert(
        &mut app.database.connect(),
        uuid::Uuid::now_v7(),
        &fields,
        by,
    )
    .map(|t| t.id)
    .unwrap()
}

fn create_conflict(
    app: &TestApp,
    team: uuid::Uuid,
    session: uuid::Uuid,
    by: uuid::Uuid,
    index: i64,
) -> uuid::Uuid {
    let mut conn = app.database.connect();
    let unit = cdt_api::models::team::find(&mut conn, team)
        .unwrap()
        .org_unit_id;
    let path = cdt_api::models::org_unit::find(&mut conn, unit)
        .unwrap()
        .path;
    cdt_api::models::sync::record_conflict(
        &mut conn,
        &cdt_api::models::sync::NewConflict {
            id: uuid::Uuid::now_v7(),
            entity: cdt_api::reference::PushRecordType::TrainingSession,
            record_id: session,
            op: cdt_api::reference::SyncOp::Upsert,
            team_id: team,
            unit_path: path,
            pushed_by: by,
            base_version: Some(0),
            server_version: 1,
            client_data: Some(json!({"index": index})),
            server_data: json!({}),
        },
    )
    .unwrap()
    .id
}
