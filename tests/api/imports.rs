//! Bulk imports: dry run, atomic vs per row, idempotent re-import, CSV round trip.

use cdt_api::reference::Vocabulary;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, problem};

async fn import(
    app: &TestApp,
    token: &str,
    what: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> serde_json::Value {
    let response = app
        .request(Method::POST, &format!("/api/v1/imports/{what}{query}"))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn team_count(app: &TestApp) -> usize {
    cdt_api::models::team::all(&mut app.database.connect())
        .unwrap()
        .len()
}

const TEAMS_CSV: &str = "code,name,org_unit_name,org_unit_code,level,status,founded_on,establishment_decision,zalo_group_members,zalo_group_members_as_of,notes
VH-001,Tổ công nghệ số xã Vân Hồ,Vân Hồ,son-la.xa-van-ho,commune,active,2022-09-15,125/QĐ-UBND,,,
VH-002,Tổ công nghệ số bản Bó Nhàng,Bản Bó Nhàng,son-la.xa-van-ho.ban-bo-nhang,village,active,2022-10-01,,86,2025-06-01,Đường khó đi mùa mưa
CM-001,\"Tổ công nghệ số xã Chiềng Mung, Mai Sơn\",Chiềng Mung,son-la.xa-chieng-mung,commune,inactive,,,,,
";

#[actix_web::test]
async fn a_dry_run_writes_nothing_and_a_second_import_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;

    let dry = import(
        &app,
        &token,
        "teams",
        "?dry_run=true",
        "text/csv",
        TEAMS_CSV,
    )
    .await;
    assert_eq!(
        dry,
        json!({"dry_run": true, "committed": false, "created": 3, "updated": 0, "unchanged": 0,
                           "units_created": 1, "errors": []})
    );
    assert_eq!(team_count(&app), 0);
    assert!(
        cdt_api::models::org_unit::find_by_code(
            &mut app.database.connect(),
            "son-la.xa-van-ho.ban-bo-nhang"
        )
        .unwrap()
        .is_none()
    );

    let done = import(
        &app,
        &token,
        "teams",
        "",
        "text/csv; charset=utf-8",
        TEAMS_CSV,
    )
    .await;
    assert_eq!(done["committed"], true);
    assert_eq!(done["created"], 3);
    assert_eq!(team_count(&app), 3);
    let village = cdt_api::models::org_unit::find_by_code(
        &mut app.database.connect(),
        "son-la.xa-van-ho.ban-bo-nhang",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        (village.name.as_str(), village.level.code()),
        ("Bản Bó Nhàng", "village")
    );
    let team = cdt_api::models::team::find_by_code(&mut app.database.connect(), "CM-001")
        .unwrap()
        .unwrap();
    assert_eq!(team.name, "Tổ công nghệ số xã Chiềng Mung, Mai Sơn");
    assert_eq!(team.status, cdt_api::reference::TeamStatus::Inactive);

    let again = import(&app, &token, "teams", "", "text/csv", TEAMS_CSV).await;
    assert_eq!(
        (
            again["created"].as_u64(),
            again["unchanged"].as_u64(),
            again["units_created"].as_u64()
        ),
        (Some(0), Some(3), Some(0))
    );

    // One change in the file is one update.
    let changed = TEAMS_CSV.replace("Đường khó đi mùa mưa", "Đã có sóng 4G");
    let updated = import(&app, &token, "teams", "", "text/csv", &changed).await;
    assert_eq!(
        (updated["updated"].as_u64(), updated["unchanged"].as_u64()),
        (Some(1), Some(2))
    );
}

#[actix_web::test]
async fn atomic_imports_reject_the_file_and_per_row_imports_keep_the_good_rows() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    // Semicolons and a BOM, as Excel in a Vietnamese locale saves them; rows 3 and 4 are bad.
    let csv = "\u{feff}code;name;org_unit_code;founded_on;zalo_group_members\n\
               OK-1;Tổ một;son-la.xa-van-ho;2023-01-01;\n\
               BAD-1;;son-la.khong-co;31/02/2023;nhiều\n\
               OK-1;Tổ trùng mã;son-la.xa-van-ho;;\n\
               OK-2;Tổ hai;son-la.phuong-to-hieu;;\n";

    let atomic = import(&app, &token, "teams", "", "text/csv", csv).await;
    assert_eq!(atomic["committed"], false);
    assert_eq!(atomic["created"], 0);
    let errors = atomic["errors"].as_array().unwrap();
    let cells: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert!(cells.contains(&(3, "org_unit_code")), "{cells:?}");
    assert!(cells.contains(&(3, "founded_on")), "{cells:?}");
    assert!(cells.contains(&(3, "zalo_group_members")), "{cells:?}");
    assert!(cells.contains(&(3, "name")), "{cells:?}");
    assert!(cells.contains(&(4, "code")), "{cells:?}");
    assert_eq!(team_count(&app), 0);

    let per_row = import(&app, &token, "teams", "?mode=per_row", "text/csv", csv).await;
    assert_eq!(per_row["committed"], true);
    assert_eq!(per_row["created"], 2);
    assert_eq!(per_row["errors"].as_array().unwrap().len(), errors.len());
    assert_eq!(team_count(&app), 2);

    // An unterminated quote swallows the rest of the file into one cell: that row is reported, nothing written.
    let broken = import(
        &app,
        &token,
        "teams",
        "",
        "text/csv",
        "code,name,org_unit_code\n\"BROKEN,x,y\nOK-9,Tổ chín,son-la.xa-van-ho\n",
    )
    .await;
    assert_eq!(broken["committed"], false);
    assert_eq!(broken["errors"][0]["row"], 2);
    assert!(
        cdt_api::models::team::find_by_code(&mut app.database.connect(), "OK-9")
            .unwrap()
            .is_none()
    );
    let wrong_type = app
        .request(Method::POST, "/api/v1/imports/teams")
        .bearer_auth(&token)
        .header("Content-Type", "application/xml")
        .body("<teams/>")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(wrong_type, 415).await["code"],
        "unsupported_media_type"
    );
}

#[actix_web::test]
async fn exported_csv_files_re_import_unchanged_with_vietnamese_intact() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    import(&app, &token, "teams", "", "text/csv", TEAMS_CSV).await;
    let members =
        "team_code,full_name,phone,gender,birth_year,ethnicity,affiliation,role,joined_on,left_on
VH-001,Lò Văn Minh,0912345678,male,1980,thai,village_head,leader,2022-09-15,
VH-001,Giàng A Páo,,male,1995,hmong,youth_union,deputy,2022-09-15,
VH-002,Lò Văn Minh,+84 912 345 678,male,1980,thai,village_head,member,2023-01-01,
CM-001,Đinh Thị Đào,0987654321,female,1990,muong,teacher,member,2024-03-01,2025-06-30
";
    let first = import(&app, &token, "members", "", "text/csv", members).await;
    assert_eq!(
        (
            first["created"].as_u64(),
            first["errors"].as_array().unwrap().len()
        ),
        (Some(4), 0),
        "{first}"
    );
    let people = cdt_api::models::person::people_with_phones(
        &mut app.database.connect(),
        &["+84912345678".to_owned()],
    )
    .unwrap();
    assert_eq!(people.len(), 1, "the same phone is the same person");

    // Export every team's members, then import the export: nothing changes.
    let exported_teams = app
        .request(Method::GET, "/api/v1/teams")
        .bearer_auth(&token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let again = import(&app, &token, "teams", "", "text/csv", &exported_teams).await;
    assert_eq!(
        (
            again["unchanged"].as_u64(),
            again["errors"].as_array().unwrap().len()
        ),
        (Some(3), 0),
        "{again}"
    );
    let list: serde_json::Value = app
        .request(Method::GET, "/api/v1/teams")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for team in list["items"].as_array().unwrap() {
        let exported = app
            .request(
                Method::GET,
                &format!(
                    "/api/v1/teams/{}/members?include_past=true",
                    team["id"].as_str().unwrap()
                ),
            )
            .bearer_auth(&token)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(exported.starts_with('\u{feff}'));
        let result = import(&app, &token, "members", "", "text/csv", &exported).await;
        assert_eq!(
            (result["created"].as_u64(), result["updated"].as_u64()),
            (Some(0), Some(0)),
            "{result} for\n{exported}"
        );
    }

    // A second leader is refused, naming the row.
    let second_leader =
        "team_code,full_name,role,joined_on\nVH-001,Cầm Văn Đức,leader,2025-01-01\n";
    let refused = import(&app, &token, "members", "", "text/csv", second_leader).await;
    assert_eq!(
        refused["errors"][0],
        json!({"row": 2, "column": "role", "column_letter": "C", "header": "role",
               "code": "leader_taken", "message": "the team already has a current leader"})
    );

    // JSON arrays work too.
    let json_body = json!([{"team_code": "CM-001", "full_name": "Hà Văn Lực", "role": "member", "joined_on": "2025-02-01", "birth_year": 1988}]);
    let from_json = import(
        &app,
        &token,
        "members",
        "",
        "application/json",
        &json_body.to_string(),
    )
    .await;
    assert_eq!(from_json["created"], 1);
}

#[actix_web::test]
async fn a_csv_file_whose_header_lacks_the_import_columns_is_refused_whole() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    for (what, body, missing) in [
        ("imports/teams", "false", "code, org_unit_code"),
        (
            "imports/teams",
            "code,name\nVH-009,Tổ thiếu đơn vị\n",
            "org_unit_code",
        ),
        ("imports/members", "[]", "team_code"),
        ("indicator-values", "unit;source\n", "indicator, value"),
    ] {
        let response = app
            .request(Method::POST, &format!("/api/v1/{what}"))
            .bearer_auth(&token)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "body", "{what}: {problem}");
        assert_eq!(
            problem["errors"][0]["code"], "missing_columns",
            "{what}: {problem}"
        );
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.ends_with(missing), "{what}: {message}");
    }
    assert_eq!(team_count(&app), 0, "nothing was written");
    // A header with the columns and no rows is an empty import, not an error.
    let empty = import(
        &app,
        &token,
        "teams",
        "",
        "text/csv",
        "code,org_unit_code\n",
    )
    .await;
    assert_eq!(
        (
            empty["created"].as_u64(),
            empty["errors"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}
