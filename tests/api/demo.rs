//! The demo data set: Sơn La with exactly 2,448 teams.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::Method;

use crate::helpers::TestApp;

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
}
