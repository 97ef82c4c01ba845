//! The demo data set: Sơn La with exactly 2,448 teams, and a living year of sessions and reach up to the
//! day it is loaded, which every demo login sees through the API as the raw rows say.

use chrono::{Datelike, NaiveDate};
use diesel::{ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, sql_count};

/// Sessions of `[from, to]` counted in reports (not rejected, not deleted) of teams under `path`:
/// `figure` summed (`count(*)` for the number of sessions).
fn sessions(
    conn: &mut PgConnection,
    figure: &str,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> i64 {
    sql_count(
        conn,
        &format!(
            "SELECT ({figure})::bigint AS count FROM training_sessions s JOIN teams t ON t.id = s.team_id \
             JOIN org_units u ON u.id = t.org_unit_id WHERE u.path LIKE '{path}%' \
             AND s.held_on BETWEEN '{from}' AND '{to}' AND s.status <> 'rejected' AND s.deleted_at IS NULL"
        ),
    )
}

#[actix_web::test]
async fn the_demo_has_2448_teams_with_3_to_9_members_and_a_user_per_role() {
    let app = TestApp::spawn().await;
    let hashing = cdt_api::auth::password::PasswordHashing::new(
        cdt_api::config::PasswordHashCost {
            memory_kib: 1024,
            iterations: 1,
        },
        1,
    )
    .unwrap();
    let mut conn = app.database.connect();
    let report = cdt_api::seed::demo::load(&mut conn, &hashing).unwrap();
    assert!(report.created);
    assert_eq!(
        (report.teams, report.villages, report.users),
        (2448, 2373, 4)
    );

    use cdt_api::db::schema::{memberships, teams};
    let team_count: i64 = teams::table.count().get_result(&mut conn).unwrap();
    assert_eq!(team_count, 2448);
    let sizes: Vec<(uuid::Uuid, i64)> = memberships::table
        .group_by(memberships::team_id)
        .select((memberships::team_id, diesel::dsl::count_star()))
        .load(&mut conn)
        .unwrap();
    assert_eq!(sizes.len(), 2448);
    assert!(
        sizes.iter().all(|(_, n)| (3..=9).contains(n)),
        "team sizes out of 3..=9"
    );
    let leaders: i64 = memberships::table
        .filter(memberships::role.eq("leader"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(leaders, 2448);

    // Deterministic and idempotent: a second run changes nothing.
    let again = cdt_api::seed::demo::load(&mut conn, &hashing).unwrap();
    assert!(!again.created);
    let team_count: i64 = teams::table.count().get_result(&mut conn).unwrap();
    assert_eq!(team_count, 2448);

    // The demo logins work, each in its scope.
    let password = cdt_api::seed::demo::DEMO_PASSWORD;
    let mut tokens = std::collections::HashMap::new();
    for (username, _) in cdt_api::seed::demo::DEMO_USERS {
        let response = app.login(username, password).await;
        assert_eq!(response.status(), 200, "{username}");
        let session: serde_json::Value = response.json().await.unwrap();
        tokens.insert(
            username,
            session["access_token"].as_str().unwrap().to_owned(),
        );
    }
    let count = |list: &serde_json::Value| list["items"].as_array().unwrap().len();
    let leader: serde_json::Value = app
        .request(Method::GET, "/api/v1/teams")
        .bearer_auth(&tokens["demo.leader"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count(&leader), 1);
    let viewer: serde_json::Value = app
        .request(Method::GET, "/api/v1/teams?limit=500")
        .bearer_auth(&tokens["demo.viewer"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count(&viewer), 500);
    let search: serde_json::Value = app
        .request(Method::GET, "/api/v1/teams?q=to%20dan%20pho&limit=500")
        .bearer_auth(&tokens["demo.admin"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        count(&search) > 100,
        "ward teams are found without diacritics"
    );

    // A living year up to yesterday, as each role sees it through the API and as the raw rows say.
    let today = cdt_api::domain::today_in_vietnam();
    let from = (today - chrono::Duration::days(14))
        .with_ordinal(1)
        .unwrap();
    let province_path = sql_path(&mut conn, "son-la");
    let viewer = &tokens["demo.viewer"];
    let summary = app
        .get_json(viewer, &format!("/api/v1/reports/summary?from={from}"))
        .await;
    for figure in [
        &summary["sessions"]["total"],
        &summary["participants"]["total"],
        &summary["participants"]["ethnic_minority"],
        &summary["outcomes"]["vneid_activations"],
        &summary["outcomes"]["payment_accounts_opened"],
        &summary["campaign_reach"]["activities"],
    ] {
        assert!(figure.as_i64().unwrap() > 0, "{summary}");
    }
    for (figure, sql) in [
        ("sessions", "count(*)"),
        ("participants", "sum(s.participants_total)"),
        ("vneid", "sum(s.vneid_activations)"),
    ] {
        let reported = match figure {
            "sessions" => &summary["sessions"]["total"],
            "participants" => &summary["participants"]["total"],
            _ => &summary["outcomes"]["vneid_activations"],
        };
        assert_eq!(
            reported.as_i64().unwrap(),
            sessions(&mut conn, sql, &province_path, from, today),
            "{figure}"
        );
    }
    let reach_where = format!(
        "FROM reach_activities WHERE occurred_on BETWEEN '{from}' AND '{today}' AND deleted_at IS NULL"
    );
    assert_eq!(
        summary["campaign_reach"]["activities"].as_i64().unwrap(),
        sql_count(
            &mut conn,
            &format!("SELECT count(*) {reach_where} AND status <> 'rejected'")
        )
    );
    let statuses = |conn: &mut PgConnection, status: &str| {
        sql_count(
            conn,
            &format!(
                "SELECT (SELECT count(*) FROM training_sessions WHERE held_on BETWEEN '{from}' AND '{today}' \
                 AND deleted_at IS NULL AND status = '{status}') \
                 + (SELECT count(*) {reach_where} AND status = '{status}') AS count"
            ),
        )
    };
    let (verified, pending, rejected) = (
        statuses(&mut conn, "verified"),
        statuses(&mut conn, "submitted"),
        statuses(&mut conn, "rejected"),
    );
    assert_eq!(summary["verification"]["verified"], verified);
    assert_eq!(summary["verification"]["pending"], pending);
    assert_eq!(summary["verification"]["rejected"], rejected);
    assert!(
        verified > pending && pending > rejected && rejected > 0,
        "older months mostly verified, the last weeks pending, a few rejected: {verified} {pending} {rejected}"
    );
    let reasons = sql_count(
        &mut conn,
        "SELECT count(*) FROM training_sessions WHERE status = 'rejected' AND rejection_reason IS NULL",
    );
    assert_eq!(reasons, 0, "every rejection has its reason");

    // The dormant-teams report lists the teams that really did nothing for 30 days: some, not most.
    let dormant = app.get_json(viewer, "/api/v1/reports/dormant-teams").await;
    let listed = dormant["items"].as_array().unwrap().len();
    let cutoff = today - chrono::Duration::days(30);
    let quiet = sql_count(
        &mut conn,
        &format!(
            "SELECT count(*) FROM teams t WHERE t.status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM training_sessions s WHERE s.team_id = t.id AND s.held_on >= '{cutoff}' \
                             AND s.status <> 'rejected' AND s.deleted_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM reach_activities r WHERE r.team_id = t.id AND r.occurred_on >= '{cutoff}' \
                             AND r.status <> 'rejected' AND r.deleted_at IS NULL)"
        ),
    );
    assert_eq!(i64::try_from(listed).unwrap(), quiet);
    assert!(
        listed > 50 && listed < 2448 / 3,
        "{listed} dormant teams: some, not most"
    );

    // The demo officer has sessions of the commune waiting for verification, and its commune's summary
    // equals its rows.
    let officer = &tokens["demo.officer"];
    let pending_sessions = app
        .get_json(
            officer,
            "/api/v1/training-sessions?status=submitted&limit=500",
        )
        .await;
    let pending_items = pending_sessions["items"].as_array().unwrap();
    assert!(!pending_items.is_empty());
    assert!(pending_items.iter().all(|s| s["status"] == "submitted"));
    let commune: Value = app
        .get_json(officer, &format!("/api/v1/reports/summary?from={from}"))
        .await;
    let officer_path = sql_text(
        &mut conn,
        "SELECT u.path AS value FROM users x JOIN org_units u ON u.id = x.org_unit_id WHERE x.username = 'demo.officer'",
    );
    assert_eq!(
        commune["sessions"]["total"].as_i64().unwrap(),
        sessions(&mut conn, "count(*)", &officer_path, from, today)
    );

    // The demo leader's team has recent sessions, and one it may still edit.
    let leader = &tokens["demo.leader"];
    let own = app
        .get_json(
            leader,
            &format!("/api/v1/training-sessions?from={from}&limit=500"),
        )
        .await;
    let own = own["items"].as_array().unwrap();
    assert!(own.len() >= 5, "{} sessions this year", own.len());
    let open = own
        .iter()
        .find(|s| s["status"] == "submitted")
        .expect("a session waiting for review");
    let edited = app
        .request(
            Method::PATCH,
            &format!("/api/v1/training-sessions/{}", open["id"].as_str().unwrap()),
        )
        .bearer_auth(leader)
        .json(&json!({"notes": "Bổ sung: 3 người xin hướng dẫn lại VNeID"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200, "{}", edited.text().await.unwrap());

    // A campaign edition runs now, with reach activities.
    let campaigns = app.get_json(viewer, "/api/v1/campaigns?limit=100").await;
    let running: Vec<&Value> = campaigns["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["status"] == "active"
                && c["starts_on"].as_str().unwrap() <= today.to_string().as_str()
                && c["ends_on"].as_str().unwrap() >= today.to_string().as_str()
        })
        .collect();
    assert_eq!(running.len(), 1, "{campaigns}");
    let running_id = running[0]["id"].as_str().unwrap();
    assert!(
        sql_count(
            &mut conn,
            &format!("SELECT count(*) FROM reach_activities WHERE campaign_id = '{running_id}'")
        ) > 1_000
    );

    // This year's targets: every commune's, a mix of behind and on track or achieved, each actual what the
    // raw rows give.
    let targets = app
        .get_json(
            viewer,
            &format!(
                "/api/v1/reports/targets?from={}",
                today.with_ordinal(1).unwrap()
            ),
        )
        .await;
    let items = targets["items"].as_array().unwrap();
    assert_eq!(items.len(), 225, "75 communes x 3 indicators");
    let count_of = |status: &str| items.iter().filter(|t| t["status"] == status).count();
    if today.ordinal() > 14 {
        assert!(count_of("behind") > 10, "{targets}");
        assert!(
            count_of("on_track") + count_of("achieved") > 10,
            "{targets}"
        );
    }
    for item in items.iter().filter(|t| t["indicator"] == "sessions_held") {
        let unit_path = sql_text(
            &mut conn,
            &format!(
                "SELECT path AS value FROM org_units WHERE id = '{}'",
                item["holder"]["id"].as_str().unwrap()
            ),
        );
        assert_eq!(
            item["actual"].as_f64().unwrap() as i64,
            sessions(
                &mut conn,
                "count(*)",
                &unit_path,
                today.with_ordinal(1).unwrap(),
                today
            ),
            "{item}"
        );
    }

    // The signed-off history: every commune's months accepted up to two months ago but one left overdue;
    // last month a few submitted, one returned, the rest open (the officer's among them).
    let this_month = today.with_day(1).unwrap();
    let month = |back: u32| {
        let day = this_month - chrono::Months::new(back);
        format!("{:04}-{:02}", day.year(), day.month())
    };
    let admin = &tokens["demo.admin"];
    let two_ago = app
        .get_json(
            admin,
            &format!("/api/v1/sign-offs?from={0}&to={0}&limit=500", month(2)),
        )
        .await;
    let states = |page: &serde_json::Value, state: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["state"] == state)
            .count()
    };
    assert_eq!(
        (states(&two_ago, "accepted"), states(&two_ago, "open")),
        (74, 1)
    );
    let overdue = app
        .get_json(admin, "/api/v1/sign-offs?overdue=true&limit=500")
        .await;
    assert!(
        overdue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["period"] == month(2).as_str()),
        "{overdue}"
    );
    let last = app
        .get_json(
            admin,
            &format!("/api/v1/sign-offs?from={0}&to={0}&limit=500", month(1)),
        )
        .await;
    assert_eq!(
        (
            states(&last, "submitted"),
            states(&last, "returned"),
            states(&last, "open")
        ),
        (6, 1, 68)
    );
    let returned = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "returned")
        .unwrap();
    assert!(
        returned["reason"]
            .as_str()
            .unwrap()
            .contains("danh sách ký")
    );
    assert_eq!(returned["decided_by"]["username"], "demo.admin");
    let officer_months = app
        .get_json(
            officer,
            &format!("/api/v1/sign-offs?from={0}&to={0}", month(1)),
        )
        .await;
    assert_eq!(officer_months["items"][0]["state"], "open");
    // A month is submitted only when its records are reviewed, and the accepted figures are the records'.
    assert_eq!(
        sql_count(
            &mut conn,
            "SELECT count(*) FROM sign_offs so JOIN org_units c ON c.id = so.org_unit_id \
             JOIN training_sessions s ON date_trunc('month', s.held_on) = so.period AND s.status = 'submitted' \
             JOIN teams t ON t.id = s.team_id JOIN org_units u ON u.id = t.org_unit_id \
             WHERE so.state IN ('submitted', 'accepted') AND (u.id = c.id OR u.parent_id = c.id)"
        ),
        0
    );
    let accepted_range = format!(
        "from=2025-07-01&to={}",
        this_month - chrono::Months::new(2) - chrono::Duration::days(1)
    );
    let official = app
        .get_json(
            viewer,
            &format!("/api/v1/reports/summary?{accepted_range}&signed_off_only=true"),
        )
        .await;
    let everything = app
        .get_json(viewer, &format!("/api/v1/reports/summary?{accepted_range}"))
        .await;
    assert!(official["sessions"]["total"].as_i64().unwrap() > 1_000);
    // The same session figures; how many carry an attendance sheet is not part of the signed-off
    // aggregates (absent from the official summary).
    let mut official_sessions = official["sessions"].clone();
    let mut all_sessions = everything["sessions"].clone();
    assert!(official_sessions["with_attendance_sheet"].is_null());
    assert!(all_sessions["with_attendance_sheet"].is_i64());
    for sessions in [&mut official_sessions, &mut all_sessions] {
        sessions
            .as_object_mut()
            .unwrap()
            .remove("with_attendance_sheet");
    }
    assert_eq!(official_sessions, all_sessions);
    assert_eq!(official["sign_offs"]["open"], 0, "{official}");
}

fn sql_text(conn: &mut PgConnection, query: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    diesel::sql_query(query)
        .get_result::<Text>(conn)
        .unwrap()
        .value
}

fn sql_path(conn: &mut PgConnection, code: &str) -> String {
    sql_text(
        conn,
        &format!("SELECT path AS value FROM org_units WHERE code = '{code}'"),
    )
}
