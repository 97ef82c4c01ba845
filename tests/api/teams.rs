//! The team registry: teams, members, people, personal data.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, problem};

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn json_of(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

fn codes(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn teams_are_found_by_subtree_and_by_names_without_diacritics() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let van_ho = app.unit_id("son-la.xa-van-ho");
    let chieng_mung = app.unit_id("son-la.xa-chieng-mung");
    let village = json_of(
        call(&app, &token, Method::POST, "/api/v1/org-units", Some(json!({"code": "son-la.xa-van-ho.ban-suoi-lin",
            "name": "Bản Suối Lìn", "level": "village", "kind": "ban", "parent_id": van_ho, "valid_from": "2025-07-01"}))).await,
        201,
    )
    .await;
    let village = village["id"].as_str().unwrap().to_owned();

    for (code, unit) in [
        ("VH-XA", van_ho.to_string()),
        ("VH-SUOILIN", village.clone()),
        ("CM-XA", chieng_mung.to_string()),
    ] {
        let body = json!({"code": code, "name": format!("Tổ công nghệ số {code}"), "org_unit_id": unit, "founded_on": "2025-07-01"});
        assert_eq!(
            call(&app, &token, Method::POST, "/api/v1/teams", Some(body))
                .await
                .status(),
            201
        );
    }
    let team = cdt_api::models::team::find_by_code(&mut app.database.connect(), "CM-XA")
        .unwrap()
        .unwrap();
    app.add_member(team.id, "Đinh Văn Đức", Some("+84912000111"), "leader");

    let subtree = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/teams?org_unit_id={van_ho}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(codes(&subtree), ["VH-SUOILIN", "VH-XA"]);
    let villages = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/teams?level=village",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(codes(&villages), ["VH-SUOILIN"]);
    let by_unit = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/teams?q=chieng%20MUNG",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(codes(&by_unit), ["CM-XA"]);
    let by_leader = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/teams?q=dinh%20van%20duc",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(codes(&by_leader), ["CM-XA"]);
    assert_eq!(by_leader["items"][0]["leader_name"], "Đinh Văn Đức");
    let leaderless = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/teams?has_leader=false",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(codes(&leaderless), ["VH-SUOILIN", "VH-XA"]);

    let csv = call(&app, &token, Method::GET, "/api/v1/teams?q=chieng", None).await;
    assert_eq!(csv.status(), 200);
    let csv = app
        .request(Method::GET, "/api/v1/teams?q=chieng")
        .bearer_auth(&token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert!(
        text.contains(
            "CM-XA,Tổ công nghệ số CM-XA,Chiềng Mung,son-la.xa-chieng-mung,commune,active"
        ),
        "{text}"
    );
    assert!(text.contains("Đinh Văn Đức"));
}

#[actix_web::test]
async fn a_team_has_one_current_leader_and_keeps_membership_history() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let team = app.create_team("TEAM-1", app.unit_id("son-la.xa-van-ho"));
    let members = format!("/api/v1/teams/{team}/members");

    let leader = json_of(
        call(&app, &token, Method::POST, &members, Some(json!({"person": {"full_name": "Lò Văn Minh", "phone": "0912 345 678",
            "gender": "male", "ethnicity": "thai", "affiliation": "village_head"}, "role": "leader", "joined_on": "2025-07-01"}))).await,
        201,
    )
    .await;
    assert_eq!(leader["phone"], "+84912345678");
    let second = call(
        &app,
        &token,
        Method::POST,
        &members,
        Some(json!({"person": {"full_name": "Cầm Thị Hoa"}, "role": "leader"})),
    )
    .await;
    assert_eq!(problem(second, 409).await["code"], "conflict");

    // The database enforces it too, whatever the code path.
    let (_, person) = app.add_member(team, "Quàng Văn Hải", None, "member");
    let direct = cdt_api::models::person::insert_membership(
        &mut app.database.connect(),
        team,
        person,
        cdt_api::reference::MembershipRole::Leader,
        chrono::NaiveDate::from_ymd_opt(2025, 8, 1).unwrap(),
    );
    assert!(direct.is_err());

    // Hand over: the old leader leaves, the deputy becomes leader; history keeps both.
    let leader_id = leader["id"].as_str().unwrap();
    let ended = call(
        &app,
        &token,
        Method::DELETE,
        &format!("{members}/{leader_id}"),
        None,
    )
    .await;
    assert_eq!(ended.status(), 204);
    let deputy = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &members,
            Some(json!({"person": {"full_name": "Cầm Thị Hoa"}, "role": "leader"})),
        )
        .await,
        201,
    )
    .await;
    let current = json_of(call(&app, &token, Method::GET, &members, None).await, 200).await;
    assert_eq!(current["items"].as_array().unwrap().len(), 2);
    assert_eq!(current["items"][0]["id"], deputy["id"]);
    let all = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("{members}?include_past=true"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let person = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/people/{}", leader["person_id"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(person["memberships"][0]["role"], "leader");
    assert!(person["memberships"][0]["left_on"].is_string());

    // Adding the same person (same phone and name) to another team reuses the person.
    let other = app.create_team("TEAM-2", app.unit_id("son-la.xa-van-ho"));
    let again = json_of(
        call(&app, &token, Method::POST, &format!("/api/v1/teams/{other}/members"),
            Some(json!({"person": {"full_name": "LÒ VĂN MINH", "phone": "+84912345678"}, "role": "member"}))).await,
        201,
    )
    .await;
    assert_eq!(again["person_id"], leader["person_id"]);
    let clash = call(&app, &token, Method::POST, &format!("/api/v1/teams/{other}/members"),
        Some(json!({"person": {"full_name": "Người khác", "phone": "+84912345678"}, "role": "member"}))).await;
    assert_eq!(problem(clash, 409).await["code"], "conflict");
}

#[actix_web::test]
async fn phones_are_masked_for_viewers_and_every_full_read_is_logged() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let team = app.create_team("TEAM-PD", commune);
    let other_team = app.create_team("TEAM-OTHER", commune);
    let (_, person) = app.add_member(team, "Lò Thị Xuân", Some("+84912345678"), "member");
    app.create_user("admin", "admin", None);
    let officer_id = app.create_user("officer", "officer", Some(commune));
    app.create_user("viewer", "viewer", Some(commune));
    app.create_team_leader("leader", team);
    app.create_team_leader("other.leader", other_team);
    let path = format!("/api/v1/teams/{team}");

    for (who, full) in [("officer", true), ("leader", true), ("viewer", false)] {
        let token = app.token(who).await;
        let detail = json_of(call(&app, &token, Method::GET, &path, None).await, 200).await;
        let member = &detail["members"][0];
        if full {
            assert_eq!(member["phone"], "+84912345678", "{who}");
            assert_eq!(member["phone_masked"], false);
        } else {
            assert_eq!(member["phone"], "09******78", "{who}");
            assert_eq!(member["phone_masked"], true);
        }
    }
    // Another team's leader does not see this team at all.
    let token = app.token("other.leader").await;
    assert_eq!(
        call(&app, &token, Method::GET, &path, None).await.status(),
        404
    );

    let admin = app.token("admin").await;
    let reads = json_of(
        call(
            &app,
            &admin,
            Method::GET,
            &format!("/api/v1/personal-data-reads?person_id={person}"),
            None,
        )
        .await,
        200,
    )
    .await;
    let readers: Vec<&str> = reads["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reader_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        readers.len(),
        2,
        "officer and leader, not the viewer: {reads}"
    );
    assert!(readers.contains(&officer_id.to_string().as_str()));
    let officer = app.token("officer").await;
    assert_eq!(
        call(
            &app,
            &officer,
            Method::GET,
            "/api/v1/personal-data-reads",
            None
        )
        .await
        .status(),
        403
    );
}

#[actix_web::test]
async fn personal_data_is_erased_only_after_the_person_left_every_team() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let team = app.create_team("TEAM-ERASE", app.unit_id("son-la.xa-van-ho"));
    let (membership, person) = app.add_member(team, "Hà Văn Tám", Some("+84977000111"), "member");
    let erase = format!("/api/v1/people/{person}/personal-data");

    assert_eq!(
        problem(call(&app, &token, Method::DELETE, &erase, None).await, 409).await["code"],
        "conflict"
    );
    let ended = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/teams/{team}/members/{membership}"),
        None,
    )
    .await;
    assert_eq!(ended.status(), 204);
    assert_eq!(
        call(&app, &token, Method::DELETE, &erase, None)
            .await
            .status(),
        204
    );

    let stored = cdt_api::models::person::find_person(&mut app.database.connect(), person).unwrap();
    assert_eq!(
        (stored.full_name, stored.phone, stored.gender),
        (None, None, cdt_api::reference::Gender::Female)
    );
    let detail = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/people/{person}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(detail["erased"], true);
    assert_eq!(detail["memberships"].as_array().unwrap().len(), 1);

    // The ended membership of an erased person still takes changes that do not name them (found by the
    // contract run: a role change answered 422 `full_name`), and the person stays erased.
    let changed = json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/teams/{team}/members/{membership}"),
            Some(serde_json::json!({"role": "deputy", "birth_year": 1990})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["role"], "deputy");
    assert_eq!(changed["full_name"], serde_json::Value::Null);
    let stored = cdt_api::models::person::find_person(&mut app.database.connect(), person).unwrap();
    assert_eq!(
        (stored.full_name, stored.phone, stored.birth_year),
        (None, None, Some(1990))
    );
}

#[actix_web::test]
async fn team_edits_honour_if_match_and_dissolution_ends_memberships() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let team = app.create_team("TEAM-IFM", app.unit_id("son-la.xa-van-ho"));
    app.add_member(team, "Lường Văn Nam", None, "leader");
    let path = format!("/api/v1/teams/{team}");

    let response = app
        .request(Method::PATCH, &path)
        .bearer_auth(&token)
        .header("If-Match", "\"1\"")
        .json(&json!({"zalo_group_members": 112, "zalo_group_members_as_of": "2025-10-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    let stale = app
        .request(Method::PATCH, &path)
        .bearer_auth(&token)
        .header("If-Match", "\"1\"")
        .json(&json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(stale, 412).await["code"], "precondition_failed");
    let half = call(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"zalo_group_members": null})),
    )
    .await;
    assert_eq!(
        problem(half, 422).await["errors"][0]["code"],
        "required_together"
    );

    let dissolved = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &format!("{path}/dissolve"),
            Some(json!({"dissolved_on": "2025-09-30", "reason": "Sáp nhập vào tổ của xã"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dissolved["status"], "dissolved");
    assert_eq!(dissolved["members"].as_array().unwrap().len(), 0);
    use cdt_api::db::schema::memberships;
    let left: Vec<Option<chrono::NaiveDate>> = memberships::table
        .filter(memberships::team_id.eq(team))
        .select(memberships::left_on)
        .load(&mut app.database.connect())
        .unwrap();
    assert_eq!(left, [chrono::NaiveDate::from_ymd_opt(2025, 9, 30)]);
    let edit = call(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"notes": "x"})),
    )
    .await;
    assert_eq!(problem(edit, 409).await["code"], "conflict");
}

#[actix_web::test]
async fn teams_follow_a_reorganization_and_keep_their_unit_history() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-van-ho");
    let mut villages = Vec::new();
    for name in ["Bản Hua Tạt", "Bản Lũng Xá"] {
        let body = json!({"code": format!("son-la.xa-van-ho.{}", cdt_api::seed::slug(name)), "name": name, "level": "village",
                          "kind": "ban", "parent_id": commune, "valid_from": "2025-07-01"});
        let created = json_of(
            call(&app, &token, Method::POST, "/api/v1/org-units", Some(body)).await,
            201,
        )
        .await;
        villages.push(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap());
    }
    let team = app.create_team("TEAM-HUATAT", villages[0]);

    let merge = json!({"effective_on": "2025-10-01", "predecessor_ids": villages,
        "successor": {"code": "son-la.xa-van-ho.ban-hua-tat-moi", "name": "Bản Hua Tạt", "level": "village", "kind": "ban",
                      "parent_id": commune}});
    let successor = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/org-units/reorganizations",
            Some(merge),
        )
        .await,
        201,
    )
    .await;

    let detail = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/teams/{team}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(detail["org_unit_id"], successor["id"]);
    let history = detail["unit_history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["org_unit_id"], villages[0].to_string());
    assert_eq!(history[0]["valid_to"], "2025-09-30");
    assert_eq!(history[1]["valid_from"], "2025-10-01");
}

#[actix_web::test]
async fn a_team_leader_account_is_scoped_to_its_team() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let own = app.create_team("TEAM-OWN", commune);
    let other = app.create_team("TEAM-NOT-MINE", commune);
    app.create_user("officer", "officer", Some(commune));
    let officer = app.token("officer").await;

    let created = json_of(
        call(
            &app,
            &officer,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "to.truong", "display_name": "Tổ trưởng",
            "password": PASSWORD, "role": "team_leader", "team_id": own})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["team_id"], own.to_string());
    assert_eq!(created["org_unit_id"], commune.to_string());

    let leader = app.token("to.truong").await;
    let list = json_of(
        call(&app, &leader, Method::GET, "/api/v1/teams", None).await,
        200,
    )
    .await;
    assert_eq!(codes(&list), ["TEAM-OWN"]);
    let add = call(
        &app,
        &leader,
        Method::POST,
        &format!("/api/v1/teams/{own}/members"),
        Some(json!({"person": {"full_name": "Tòng Văn Sơn"}, "role": "member"})),
    )
    .await;
    assert_eq!(add.status(), 201);
    let foreign = call(
        &app,
        &leader,
        Method::POST,
        &format!("/api/v1/teams/{other}/members"),
        Some(json!({"person": {"full_name": "Tòng Văn Sơn"}, "role": "member"})),
    )
    .await;
    assert_eq!(problem(foreign, 404).await["code"], "not_found");
    let missing_team = call(&app, &officer, Method::POST, "/api/v1/users", Some(json!({"username": "to.truong.2",
        "display_name": "Tổ trưởng", "password": PASSWORD, "role": "team_leader", "org_unit_id": commune}))).await;
    assert_eq!(
        problem(missing_team, 422).await["errors"][0]["field"],
        "team_id"
    );
}

#[actix_web::test]
async fn reference_lists_the_54_ethnic_groups_and_is_cacheable() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/reference").await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ethnic_groups"].as_array().unwrap().len(), 54);
    assert_eq!(
        body["ethnic_groups"][2],
        json!({"code": "thai", "gso_code": "03", "name_vi": "Thái", "name_en": "Thai", "minority": true})
    );
    assert_eq!(body["membership_roles"][0]["name_vi"], "Tổ trưởng");
    // If-None-Match compares weakly (RFC 9110 13.1.2): the tag, its weak form, a list holding it, or `*`.
    for (sent, status) in [
        (etag.clone(), 304),
        (format!("W/{etag}"), 304),
        (format!("\"other\", W/{etag}"), 304),
        ("*".to_owned(), 304),
        ("\"other\"".to_owned(), 200),
        ("not a tag".to_owned(), 200),
    ] {
        let cached = app
            .request(Method::GET, "/api/v1/reference")
            .header("If-None-Match", &sent)
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), status, "If-None-Match: {sent}");
        assert_eq!(cached.headers()["etag"], etag.as_str());
    }
}

#[actix_web::test]
async fn if_match_compares_strongly_as_rfc_9110_says() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;
    let team = app.create_team("TEAM-STRONG", app.unit_id("son-la.xa-van-ho"));
    let path = format!("/api/v1/teams/{team}");
    let patch = |if_match: &str, notes: &str| {
        app.request(Method::PATCH, &path)
            .bearer_auth(&token)
            .header("If-Match", if_match)
            .json(&json!({ "notes": notes }))
            .send()
    };
    // A weak tag never matches, even naming the current version; nor does a malformed header.
    for (sent, notes) in [("W/\"1\"", "a"), ("\"2\", W/\"1\"", "b"), ("1", "c")] {
        let refused = patch(sent, notes).await.unwrap();
        assert_eq!(
            problem(refused, 412).await["code"],
            "precondition_failed",
            "If-Match: {sent}"
        );
    }
    let stored = app.get_json(&token, &path).await;
    assert!(stored["notes"].is_null(), "nothing was written");
    // The strong tag, a list holding it, and `*` match.
    let ok = patch("\"1\"", "one").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let ok = patch("\"7\", \"2\"", "two").await.unwrap();
    assert_eq!(ok.status(), 200);
    let ok = patch("*", "three").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["etag"], "\"4\"");
}
