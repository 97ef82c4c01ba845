//! `q` of the lists by index (issue 24): terms of three characters or more anywhere in the text, shorter
//! ones at its start, LIKE's wildcards taken literally, and plans that use the trigram and prefix indexes
//! even as the generic plans PostgreSQL caches for prepared statements.

use cdt_api::{
    db::schema::{people, teams},
    models::{search::Term, team},
};
use diesel::{PgConnection, QueryDsl, RunQueryDsl, pg::Pg, sql_query};

use crate::helpers::TestApp;

fn names(found: &serde_json::Value) -> Vec<String> {
    found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn short_terms_match_the_start_of_a_name_and_longer_ones_anywhere() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("xem", "admin", None);
    let token = app.token("xem").await;
    let search = |q: &str| format!("/api/v1/org-units?as_of=2025-06-30&limit=500&q={q}");

    // Two characters: names starting with "mu" (any case, any diacritics), not names containing it.
    let short = names(&app.get_json(&token, &search("M%C6%B0")).await); // "Mư"
    assert!(short.iter().any(|n| n == "Mường Chiên"), "{short:?}");
    assert!(!short.iter().any(|n| n == "Chiềng Mung"), "{short:?}");
    let folded = |n: &str| deunicode::deunicode(n).to_lowercase();
    assert!(
        short.iter().all(|n| folded(n).starts_with("mu")),
        "{short:?}"
    );
    // Three or more: anywhere.
    let long = names(&app.get_json(&token, &search("mung")).await);
    assert!(long.iter().any(|n| n == "Chiềng Mung"), "{long:?}");
    assert!(long.iter().all(|n| folded(n).contains("mung")), "{long:?}");
    // One character is a prefix too.
    let one = names(&app.get_json(&token, &search("%C4%90")).await); // "Đ"
    assert!(
        !one.is_empty() && one.iter().all(|n| folded(n).starts_with('d')),
        "{one:?}"
    );

    // LIKE's wildcards are text, in either shape.
    for q in ["%25", "_", "%25a", "_a_", "%25%25%25"] {
        let found = app.get_json(&token, &search(q)).await;
        assert_eq!(found["items"], serde_json::json!([]), "q={q}");
    }
}

/// The plan PostgreSQL caches for `sql` as a prepared statement (`$1`..`$n` text), with sequential scans
/// priced out so that an index the statement's shape can use is used.
fn generic_plan(conn: &mut PgConnection, sql: &str, values: &[&str]) -> String {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let sql = sql.split(" -- binds:").next().unwrap();
    let types = vec!["text"; values.len()].join(", ");
    diesel::connection::SimpleConnection::batch_execute(
        conn,
        &format!(
            "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; \
             PREPARE searched({types}) AS {sql}"
        ),
    )
    .unwrap();
    let arguments = values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let plan: Vec<Line> = sql_query(format!("EXPLAIN EXECUTE searched({arguments})"))
        .load(conn)
        .unwrap();
    diesel::connection::SimpleConnection::batch_execute(conn, "DEALLOCATE searched").unwrap();
    plan.into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_web::test]
async fn searches_use_the_trigram_and_prefix_indexes_in_generic_plans() {
    let app = TestApp::spawn().await;
    let mut conn = app.database.connect();

    let people_long = people::table
        .select(people::id)
        .filter(Term::new("Lường").matches("people.full_name"));
    let sql = diesel::debug_query::<Pg, _>(&people_long).to_string();
    let plan = generic_plan(&mut conn, &sql, &["Lường"]);
    assert!(plan.contains("people_name_trgm"), "{plan}");

    let people_short = people::table
        .select(people::id)
        .filter(Term::new("Lò").matches("people.full_name"));
    let sql = diesel::debug_query::<Pg, _>(&people_short).to_string();
    let plan = generic_plan(&mut conn, &sql, &["Lò", "Lò"]);
    assert!(plan.contains("people_name_prefix"), "{plan}");

    // Teams: by their name and their unit's name, each through its own index (the leader branch starts
    // from whichever of memberships and people is smaller: on an empty database, memberships).
    let teams_long = teams::table
        .select(teams::id)
        .filter(team::matching(&Term::new("Mường")));
    let sql = diesel::debug_query::<Pg, _>(&teams_long).to_string();
    let plan = generic_plan(&mut conn, &sql, &["Mường", "Mường", "Mường"]);
    for index in ["teams_name_trgm", "org_units_name_trgm"] {
        assert!(plan.contains(index), "{index} not in\n{plan}");
    }
}

/// Every page of `path` (a list with `q`) at `limit` per page: the items' `field`, in order.
async fn every_page(app: &TestApp, token: &str, path: &str, field: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = app.get_json(token, &url).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i[field].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[actix_web::test]
async fn exact_then_prefix_then_other_matches_come_first_on_every_page() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("quantri", "admin", None);
    let province = app.unit_id("son-la");
    for name in ["hoamua", "muaxuan", "mua", "bmua", "muadong"] {
        app.create_user(name, "viewer", Some(province));
    }
    let token = app.token("quantri").await;
    // One page at a time: the rank is part of the cursor.
    let users = every_page(&app, &token, "/api/v1/users?q=M%C3%99A&limit=1", "username").await;
    assert_eq!(users, ["mua", "muadong", "muaxuan", "bmua", "hoamua"]);
    let users = every_page(&app, &token, "/api/v1/users?q=mua&limit=2", "username").await;
    assert_eq!(users, ["mua", "muadong", "muaxuan", "bmua", "hoamua"]);
    // A cursor without the rank (another list's, or this one's without `q`) is refused, not restarted.
    let plain = app
        .get_json(&token, "/api/v1/users?limit=1&role=viewer")
        .await;
    let cursor = plain["next_cursor"].as_str().unwrap();
    let refused = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/users?q=mua&limit=1&cursor={cursor}"),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    // Without a search the order is the list's own.
    let all = every_page(
        &app,
        &token,
        "/api/v1/users?limit=2&role=viewer",
        "username",
    )
    .await;
    assert_eq!(all, ["bmua", "hoamua", "mua", "muadong", "muaxuan"]);

    // Units: the one named exactly first, then names starting with the term, then the rest.
    let units = every_page(
        &app,
        &token,
        "/api/v1/org-units?as_of=2025-06-30&q=muong%20la&limit=3",
        "name",
    )
    .await;
    let folded: Vec<String> = units
        .iter()
        .map(|n| deunicode::deunicode(n).to_lowercase())
        .collect();
    let rank = |n: &String| {
        if n == "muong la" {
            0
        } else if n.starts_with("muong la") {
            1
        } else {
            2
        }
    };
    assert!(!folded.is_empty());
    assert!(
        folded.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{units:?}"
    );
    assert!(folded.iter().all(|n| n.contains("muong la")), "{units:?}");
}
