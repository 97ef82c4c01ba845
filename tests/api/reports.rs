//! Reports.

use reqwest::Method;

use crate::helpers::{TestApp, session_fields};

#[actix_web::test]
async fn dormant_teams_are_the_quiet_ones_with_leaders_masked_per_role() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let busy = app.create_team("BUSY", commune);
    let quiet = app.create_team("QUIET", commune);
    let never = app.create_team("NEVER", commune);
    app.add_member(never, "Lò Văn Minh", Some("+84912345678"), "leader");
    let officer_id = app.create_user("officer", "officer", Some(commune));
    app.create_user("viewer", "viewer", Some(commune));
    let today = cdt_api::domain::today_in_vietnam();
    {
        let mut conn = app.database.connect();
        let fields = session_fields(busy, commune, today - chrono::Duration::days(2));
        cdt_api::models::training_session::insert(
            &mut conn,
            uuid::Uuid::now_v7(),
            &fields,
            officer_id,
        )
        .unwrap();
        let fields = session_fields(quiet, commune, today - chrono::Duration::days(40));
        cdt_api::models::training_session::insert(
            &mut conn,
            uuid::Uuid::now_v7(),
            &fields,
            officer_id,
        )
        .unwrap();
    }
    let officer = app.token("officer").await;
    let viewer = app.token("viewer").await;
    let get = |token: String, query: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::GET,
                &format!("/api/v1/reports/dormant-teams{query}"),
            )
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
        }
    };

    let report = get(officer.clone(), "").await;
    let codes: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NEVER", "QUIET"]);
    assert_eq!(report["items"][0]["leader_phone"], "+84912345678");
    assert!(report["items"][0]["last_activity_on"].is_null());
    assert_eq!(report["items"][1]["days_since"], 40);

    let masked = get(viewer, "").await;
    assert_eq!(masked["items"][0]["leader_phone"], "09******78");
    assert_eq!(masked["items"][0]["leader_phone_masked"], true);

    let longer = get(officer, "?days=60").await;
    let codes: Vec<&str> = longer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NEVER"]);

    let reads = cdt_api::models::person::list_reads(
        &mut app.database.connect(),
        cdt_api::models::person::ReadFilter {
            reader: Some(officer_id),
            ..Default::default()
        },
        None,
        50,
    )
    .unwrap();
    assert_eq!(
        reads.len(),
        2,
        "each full number shown to the officer is logged"
    );
}
