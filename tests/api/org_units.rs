//! Sơn La's units before and after 1 July 2025, read through the API.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};

use crate::helpers::TestApp;

#[actix_web::test]
async fn the_seed_loads_both_structures_and_running_it_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut conn = app.database.connect();
    let first = cdt_api::seed::son_la(&mut conn).unwrap();
    assert_eq!(first.units_created, 1 + 12 + 200 + 75);
    assert_eq!(first.links_created, 200);
    let second = cdt_api::seed::son_la(&mut conn).unwrap();
    assert_eq!(second, cdt_api::seed::SeedReport::default());

    use cdt_api::db::schema::org_units;
    let count = |lvl: &str, closed: bool| -> i64 {
        let query = org_units::table
            .filter(org_units::level.eq(lvl.to_owned()))
            .into_boxed();
        let query = if closed {
            query.filter(org_units::valid_to.is_not_null())
        } else {
            query.filter(org_units::valid_to.is_null())
        };
        query
            .count()
            .get_result(&mut app.database.connect())
            .unwrap()
    };
    assert_eq!(count("district", true), 12);
    assert_eq!(count("commune", true), 200);
    assert_eq!(count("commune", false), 75);

    app.create_user("xem", "admin", None);
    let token = app.token("xem").await;
    let before = app
        .get_json(
            &token,
            "/api/v1/org-units?level=commune&as_of=2025-06-30&limit=500",
        )
        .await;
    assert_eq!(before["items"].as_array().unwrap().len(), 200);
    let after = app
        .get_json(
            &token,
            "/api/v1/org-units?level=commune&as_of=2025-07-01&limit=500",
        )
        .await;
    assert_eq!(after["items"].as_array().unwrap().len(), 75);
    let districts = app
        .get_json(&token, "/api/v1/org-units?level=district&as_of=2025-07-01")
        .await;
    assert_eq!(districts["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn a_merged_unit_shows_its_path_predecessors_and_successors() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("xem", "viewer", Some(app.unit_id("son-la")));
    let token = app.token("xem").await;

    let van_ho = app.unit_id("son-la.xa-van-ho");
    let response = app
        .request(reqwest::Method::GET, &format!("/api/v1/org-units/{van_ho}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let detail: serde_json::Value = response.json().await.unwrap();
    assert_eq!(detail["name"], "Vân Hồ");
    assert_eq!(detail["valid_from"], "2025-07-01");
    assert_eq!(detail["path"][0]["code"], "son-la");
    let predecessors: Vec<&str> = detail["predecessors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["unit"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(predecessors.len(), 4, "{predecessors:?}");
    assert!(predecessors.contains(&"Lóng Luông") && predecessors.contains(&"Mường Men"));

    let old = app.unit_id("son-la.huyen-van-ho.xa-long-luong");
    let detail = app
        .get_json(&token, &format!("/api/v1/org-units/{old}"))
        .await;
    assert_eq!(detail["valid_to"], "2025-06-30");
    assert_eq!(detail["path"][1]["name"], "Vân Hồ");
    assert_eq!(detail["successors"][0]["unit"]["code"], "son-la.xa-van-ho");
    assert_eq!(detail["successors"][0]["effective_on"], "2025-07-01");

    // The two different "xã Chiềng Chung" stay apart, each under its own district.
    use cdt_api::db::schema::org_units;
    let chieng_chung: i64 = org_units::table
        .filter(org_units::name.eq("Chiềng Chung"))
        .count()
        .get_result(&mut app.database.connect())
        .unwrap();
    assert_eq!(chieng_chung, 2);
}

#[actix_web::test]
async fn search_ignores_case_and_diacritics_and_children_are_listed() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("xem", "admin", None);
    let token = app.token("xem").await;

    let found = app
        .get_json(&token, "/api/v1/org-units?q=CHIENG%20mung&as_of=2025-06-30")
        .await;
    let names: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Chiềng Mung"), "{names:?}");
    let found = app.get_json(&token, "/api/v1/org-units?q=doan%20ket").await;
    assert_eq!(found["items"][0]["name"], "Đoàn Kết");

    let province = app.unit_id("son-la");
    let children = app
        .get_json(
            &token,
            &format!("/api/v1/org-units/{province}/children?limit=500"),
        )
        .await;
    assert_eq!(children["items"].as_array().unwrap().len(), 75);
    let page = app
        .get_json(
            &token,
            &format!("/api/v1/org-units/{province}/children?limit=50"),
        )
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(
            &token,
            &format!("/api/v1/org-units/{province}/children?limit=50&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 25);
    assert!(rest["next_cursor"].is_null());
}
