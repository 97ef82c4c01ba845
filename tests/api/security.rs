//! Security headers, CORS, and the metrics endpoint with its access rules.

use reqwest::Method;
use secrecy::SecretString;

use crate::{
    helpers::{
        METRICS_TOKEN, PASSWORD, TestApp, metric_sample, metrics_text, problem, test_settings,
    },
    test_db::TestDatabase,
};

#[actix_web::test]
async fn every_response_carries_the_security_headers_and_personal_data_is_never_cached() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let login = app.login("admin", PASSWORD).await;
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["cache-control"], "no-store");
    let token = app.token("admin").await;

    for (path, cache) in [
        ("/api/v1/me", "no-store"),
        ("/api/v1/people", "no-store"),
        ("/api/v1/users", "no-store"),
        ("/api/v1/teams", "no-store"),
        ("/api/v1/no-such-route", "no-store"),
        // Reference data names nobody: it stays cacheable.
        ("/api/v1/reference", "public, max-age=3600"),
    ] {
        let response = app
            .request(Method::GET, path)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cache-control"], cache, "{path}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }

    // The Swagger UI may run its own (vendored) files and nothing else.
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = docs.text().await.unwrap();
    assert!(
        !html.contains("<script>"),
        "an inline script would be blocked by the policy"
    );
}

async fn app_with_origins(origins: &[&str]) -> TestApp {
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.cors_allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
    TestApp::spawn_with(database, &settings).await
}

#[actix_web::test]
async fn cors_answers_only_the_listed_origins() {
    let app = app_with_origins(&["https://app.sonla.gov.vn"]).await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/training-sessions")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };

    let allowed = preflight("https://app.sonla.gov.vn").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.sonla.gov.vn"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("idempotency-key"), "{headers}");

    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(
        !other.headers().contains_key("access-control-allow-origin"),
        "an unlisted origin got CORS headers"
    );

    // A real request from the listed origin exposes the headers clients need.
    let response = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://app.sonla.gov.vn")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.sonla.gov.vn"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in [
        "etag",
        "retry-after",
        "x-request-id",
        "idempotency-replayed",
    ] {
        assert!(exposed.contains(header), "{header} not exposed: {exposed}");
    }
    // Same-origin and non-browser requests are unaffected by an unlisted Origin.
    let response = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // Without CORS_ALLOWED_ORIGINS no origin is allowed.
    let closed = app_with_origins(&[]).await;
    let response = closed
        .request(Method::OPTIONS, "/api/v1/teams")
        .header("Origin", "https://app.sonla.gov.vn")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[actix_web::test]
async fn metrics_count_requests_pool_errors_rate_limits_and_failed_sign_ins() {
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.login_rate_limit_per_minute = 3;
    let app = TestApp::spawn_with(database, &settings).await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let token = app.token("admin").await;

    for _ in 0..3 {
        let response = app
            .request(Method::GET, "/api/v1/teams")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let team = uuid::Uuid::now_v7();
    let response = app
        .request(Method::GET, &format!("/api/v1/teams/{team}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Wrong passwords until the per-IP login limit (3 per minute, one used by `token`) refuses.
    let mut failures = 0.0;
    loop {
        match app.login("admin", "wrong password").await.status().as_u16() {
            401 => failures += 1.0,
            429 => break,
            other => panic!("login answered {other}"),
        }
        assert!(failures < 10.0, "the login limit never applied");
    }
    assert!(failures >= 1.0);

    let text = metrics_text(&app, METRICS_TOKEN).await;
    assert_eq!(
        metric_sample(
            &text,
            r#"cdt_http_requests_total{method="GET",route="/api/v1/teams",status="200"}"#
        ),
        3.0,
        "{text}"
    );
    // Ids never become labels: the pattern does.
    assert_eq!(
        metric_sample(
            &text,
            r#"cdt_http_requests_total{method="GET",route="/api/v1/teams/{id}",status="404"}"#
        ),
        1.0
    );
    assert!(!text.contains(&team.to_string()));
    assert_eq!(
        metric_sample(
            &text,
            r#"cdt_http_request_duration_seconds_count{method="GET",route="/api/v1/teams",status="200"}"#
        ),
        3.0
    );
    assert!(text.contains(r#"cdt_http_request_duration_seconds_bucket{le="0.001""#));
    assert_eq!(metric_sample(&text, "cdt_login_failures_total"), failures);
    assert_eq!(
        metric_sample(
            &text,
            r#"cdt_rate_limited_total{route="/api/v1/auth/login"}"#
        ),
        1.0
    );
    assert_eq!(metric_sample(&text, "cdt_db_pool_connections_max"), 4.0);
    assert!(metric_sample(&text, "cdt_db_pool_connections_idle") >= 1.0);
    assert_eq!(metric_sample(&text, "cdt_db_pool_connections_in_use"), 0.0);
    assert_eq!(metric_sample(&text, "cdt_db_pool_waiting"), 0.0);
    assert!(text.ends_with("# EOF\n"));
}

#[actix_web::test]
async fn metrics_need_the_metrics_token_or_the_internal_address() {
    let app = TestApp::spawn().await;
    app.create_user("admin", "admin", None);
    let user_token = app.token("admin").await;

    let anonymous = app.get("/metrics").await;
    assert_eq!(problem(anonymous, 401).await["code"], "unauthorized");
    for token in [user_token.as_str(), "not-the-metrics-token"] {
        let response = app
            .request(Method::GET, "/metrics")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "an admin's token is not the metrics token"
        );
    }
    assert!(
        metrics_text(&app, METRICS_TOKEN)
            .await
            .contains("cdt_http_requests_total")
    );

    // No METRICS_TOKEN: nothing opens it on BIND_ADDR (401, as documented); the internal listener
    // serves it without a token.
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.metrics_token = None;
    settings.metrics_bind_addr = Some("127.0.0.1:0".parse().unwrap());
    let url = settings.database_url.clone().unwrap();
    let db = cdt_api::startup::pools(&url, &settings);
    let application = cdt_api::startup::Application::build(&settings, db).unwrap();
    let port = application.port();
    let metrics_port = application.metrics_port().unwrap();
    actix_web::rt::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    let public = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    let public = problem(public, 401).await;
    assert_eq!(public["code"], "unauthorized");
    assert!(public["detail"].as_str().unwrap().contains("METRICS_TOKEN"));
    let internal = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(internal.status(), 200);
    assert!(
        internal
            .text()
            .await
            .unwrap()
            .contains("cdt_db_pool_connections_max")
    );
    let elsewhere = client
        .get(format!("http://127.0.0.1:{metrics_port}/api/v1/teams"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the internal listener serves metrics only"
    );
    drop(database);

    // With both, the internal listener wants the token too.
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.metrics_bind_addr = Some("127.0.0.1:0".parse().unwrap());
    settings.metrics_token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
    let url = settings.database_url.clone().unwrap();
    let application =
        cdt_api::startup::Application::build(&settings, cdt_api::startup::pools(&url, &settings))
            .unwrap();
    let metrics_port = application.metrics_port().unwrap();
    actix_web::rt::spawn(application.run_until_stopped());
    let response = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Failed sign-ins of `username` from `client` (as `X-Forwarded-For`) until the login limit answers 429;
/// how many were refused as wrong before it.
async fn fail_until_limited(app: &TestApp, client: &str) -> usize {
    let mut failures = 0;
    loop {
        let status = app
            .request(Method::POST, "/api/v1/auth/login")
            .header("X-Forwarded-For", client)
            .json(&serde_json::json!({"username": "admin", "password": "wrong password"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        match status {
            401 => failures += 1,
            429 => return failures,
            other => panic!("login answered {other}"),
        }
        assert!(failures < 10, "the login limit never applied");
    }
}

async fn login_status(app: &TestApp, client: &str) -> u16 {
    app.request(Method::POST, "/api/v1/auth/login")
        .header("X-Forwarded-For", client)
        .json(&serde_json::json!({"username": "admin", "password": "wrong password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_is_throttled_and_audited_by_its_own_address() {
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.login_rate_limit_per_minute = 3;
    settings.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let app = TestApp::spawn_with(database, &settings).await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);

    // Two people behind one proxy: one's failures do not lock the other out.
    assert_eq!(fail_until_limited(&app, "198.51.100.1").await, 3);
    assert_eq!(login_status(&app, "198.51.100.1").await, 429);
    assert_eq!(login_status(&app, "198.51.100.2").await, 401);
    // A forged left-most entry does not escape the limit: the right-most untrusted address counts.
    assert_eq!(login_status(&app, "203.0.113.50, 198.51.100.1").await, 429);
    // The audit log records the client, not the proxy.
    let mut conn = app.database.connect();
    let addresses: Vec<Option<String>> = {
        use cdt_api::db::schema::audit_events;
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        audit_events::table
            .filter(audit_events::action.eq("login_failed"))
            .select(audit_events::client_ip)
            .load(&mut conn)
            .unwrap()
    };
    assert!(
        addresses.contains(&Some("198.51.100.2".to_owned())),
        "{addresses:?}"
    );
    assert!(
        !addresses.contains(&Some("127.0.0.1".to_owned())),
        "{addresses:?}"
    );
}

#[actix_web::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let database = TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.login_rate_limit_per_minute = 3;
    let app = TestApp::spawn_with(database, &settings).await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    // Spoofed addresses from an untrusted peer are ignored: every attempt counts against the peer.
    assert_eq!(fail_until_limited(&app, "198.51.100.1").await, 3);
    assert_eq!(login_status(&app, "198.51.100.2").await, 429);
    assert_eq!(login_status(&app, "198.51.100.3").await, 429);
}
