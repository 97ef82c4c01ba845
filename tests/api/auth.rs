//! Sign-in, refresh rotation, logout, lockout, cut-off, forged tokens, password rules.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use jsonwebtoken::{EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, problem};

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(Method::GET, "/api/v1/me")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn login_returns_a_session_that_opens_the_api() {
    let app = TestApp::spawn().await;
    app.create_user("quan.tri", "admin", None);

    let response = app.login("QUAN.TRI", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let session: serde_json::Value = response.json().await.unwrap();
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["user"]["username"], "quan.tri");
    assert_eq!(session["refresh_token"].as_str().unwrap().len(), 43);

    let response = me(&app, session["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    assert_eq!(body["phone"], "+84912345678");

    use cdt_api::db::schema::audit_events::dsl::*;
    let actions: Vec<String> = audit_events
        .select(action)
        .load(&mut app.database.connect())
        .unwrap();
    assert!(
        actions.contains(&"login_succeeded".to_owned()),
        "{actions:?}"
    );
}

#[actix_web::test]
async fn unknown_user_wrong_password_and_disabled_user_get_the_same_401() {
    let app = TestApp::spawn().await;
    let disabled = app.create_user("da.nghi", "viewer", Some(seeded_unit(&app)));
    app.create_user("can.bo", "admin", None);
    {
        use cdt_api::db::schema::users::dsl::*;
        diesel::update(users.find(disabled))
            .set(status.eq("disabled"))
            .execute(&mut app.database.connect())
            .unwrap();
    }

    let mut bodies = Vec::new();
    for (name, pass) in [
        ("khong.co", PASSWORD),
        ("can.bo", "sai mat khau roi nhe"),
        ("da.nghi", PASSWORD),
    ] {
        let response = app.login(name, pass).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let mut body = problem(response, 401).await;
        body.as_object_mut().unwrap().remove("request_id");
        bodies.push(body);
    }
    assert_eq!(bodies[0]["code"], "invalid_credentials");
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
}

fn seeded_unit(app: &TestApp) -> uuid::Uuid {
    app.seed_son_la();
    app.unit_id("son-la.xa-van-ho")
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_whole_sign_in() {
    let app = TestApp::spawn().await;
    app.create_user("to.truong", "admin", None);
    let session: serde_json::Value = app.login("to.truong", PASSWORD).await.json().await.unwrap();
    let first = session["refresh_token"].as_str().unwrap().to_owned();

    let response = refresh(&app, &first).await;
    assert_eq!(response.status(), 200);
    let rotated: serde_json::Value = response.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        me(&app, rotated["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The first token again: a copy is in use. The family is revoked, including the second token.
    let body = problem(refresh(&app, &first).await, 401).await;
    assert_eq!(body["code"], "refresh_token_reused");
    let body = problem(refresh(&app, &second).await, 401).await;
    assert_eq!(body["code"], "invalid_refresh_token");
    let body = problem(refresh(&app, "not-a-token").await, 401).await;
    assert_eq!(body["code"], "invalid_refresh_token");
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    app.create_user("dang.xuat", "admin", None);
    let session: serde_json::Value = app.login("dang.xuat", PASSWORD).await.json().await.unwrap();
    let token = session["refresh_token"].as_str().unwrap();

    let response = app
        .request(Method::POST, "/api/v1/auth/logout")
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        problem(refresh(&app, token).await, 401).await["code"],
        "invalid_refresh_token"
    );
}

#[actix_web::test]
async fn five_failures_lock_the_username_until_the_lock_expires() {
    let app = TestApp::spawn().await;
    let user_id = app.create_user("bi.khoa", "admin", None);

    for _ in 0..5 {
        assert_eq!(
            app.login("bi.khoa", "wrong password here").await.status(),
            401
        );
    }
    let response = app.login("bi.khoa", PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((50..=60).contains(&retry_after), "{retry_after}");
    // The same RateLimit-* headers as every other 429.
    assert_eq!(response.headers()["ratelimit-limit"], "5");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    assert_eq!(
        response.headers()["ratelimit-reset"].to_str().unwrap(),
        retry_after.to_string()
    );
    assert_eq!(problem(response, 429).await["code"], "rate_limited");

    // Unknown names lock the same way, so a lockout does not reveal which names exist.
    for _ in 0..5 {
        assert_eq!(
            app.login("khong.ton.tai", "wrong password here")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        app.login("khong.ton.tai", "wrong password here")
            .await
            .status(),
        429
    );

    // The lock expires.
    {
        use cdt_api::db::schema::users::dsl::*;
        diesel::update(users.find(user_id))
            .set(locked_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(&mut app.database.connect())
            .unwrap();
    }
    assert_eq!(app.login("bi.khoa", PASSWORD).await.status(), 200);
    use cdt_api::db::schema::users::dsl::*;
    let failures: i32 = users
        .find(user_id)
        .select(failed_logins)
        .first(&mut app.database.connect())
        .unwrap();
    assert_eq!(failures, 0);
}

#[actix_web::test]
async fn disabling_a_user_cuts_them_off_at_once() {
    let app = TestApp::spawn().await;
    let unit = seeded_unit(&app);
    app.create_user("admin", "admin", None);
    let victim = app.create_user("nguoi.dung", "viewer", Some(unit));
    let admin = app.token("admin").await;
    let session: serde_json::Value = app
        .login("nguoi.dung", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(me(&app, access).await.status(), 200);

    let response = app
        .request(Method::PATCH, &format!("/api/v1/users/{victim}"))
        .bearer_auth(&admin)
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(
        problem(me(&app, access).await, 401).await["code"],
        "unauthorized"
    );
    let refreshed = refresh(&app, session["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        problem(refreshed, 401).await["code"],
        "invalid_refresh_token"
    );
}

#[actix_web::test]
async fn changing_the_password_ends_other_sessions_and_keeps_this_client_signed_in() {
    let app = TestApp::spawn().await;
    let own_id = app.create_user("doi.mat.khau", "admin", None);

    // Not through the admin reset, which asks for no current password: a stolen token must not be
    // enough to take the account over.
    let admin_token = app.token("doi.mat.khau").await;
    let reset = app
        .request(
            Method::POST,
            &format!("/api/v1/users/{own_id}/reset-password"),
        )
        .bearer_auth(&admin_token)
        .json(&json!({"new_password": "Gió Lào thổi qua đèo Pha Đin"}))
        .send()
        .await
        .unwrap();
    let body = problem(reset, 403).await;
    assert!(body["detail"].as_str().unwrap().contains("/me/password"));
    assert_eq!(app.login("doi.mat.khau", PASSWORD).await.status(), 200);
    let other: serde_json::Value = app
        .login("doi.mat.khau", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = app.token("doi.mat.khau").await;

    let weak = app
        .request(Method::POST, "/api/v1/me/password")
        .bearer_auth(&token)
        .json(&json!({"current_password": PASSWORD, "new_password": "password123"}))
        .send()
        .await
        .unwrap();
    let body = problem(weak, 422).await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    assert_eq!(body["errors"][0]["code"], "too_weak");

    let response = app
        .request(Method::POST, "/api/v1/me/password")
        .bearer_auth(&token)
        .json(&json!({"current_password": PASSWORD, "new_password": "Suối Sập chảy qua bản Mòng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fresh: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        me(&app, fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(me(&app, &token).await.status(), 401);
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login("doi.mat.khau", "Suối Sập chảy qua bản Mòng")
            .await
            .status(),
        200
    );
}

#[derive(serde::Serialize)]
struct Claims {
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'static str>,
    aud: &'static str,
    sub: uuid::Uuid,
    role: &'static str,
    generation: i32,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: uuid::Uuid,
}

#[actix_web::test]
async fn forged_tokens_are_all_rejected() {
    let app = TestApp::spawn().await;
    let id = app.create_user("bi.gia.mao", "admin", None);
    let valid = app.token("bi.gia.mao").await;
    assert_eq!(me(&app, &valid).await.status(), 200);

    let secret = b"test-secret-test-secret-test-secret-0123";
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: Option<&'static str>, aud: &'static str, nbf: i64, exp: i64| Claims {
        iss,
        aud,
        sub: id,
        role: "admin",
        generation: 0,
        iat: now,
        nbf,
        exp,
        jti: uuid::Uuid::now_v7(),
    };
    let sign = |claims: &Claims, key: &[u8]| {
        jsonwebtoken::encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(key).unwrap(),
        )
        .unwrap()
    };
    // Sanity: our own forging works when everything is right.
    assert_eq!(
        me(
            &app,
            &sign(&claims(Some("cdt-api"), "cdt-api", now, now + 600), secret)
        )
        .await
        .status(),
        200
    );

    let b64 = |value: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let payload = b64(
        json!({"iss": "cdt-api", "aud": "cdt-api", "sub": id, "role": "admin", "generation": 0,
                             "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::now_v7()}),
    );
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered_payload = b64(
        json!({"iss": "cdt-api", "aud": "cdt-api", "sub": uuid::Uuid::now_v7(), "role": "admin",
                                      "generation": 0, "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::now_v7()}),
    );
    let forged = [
        (
            "alg none",
            format!("{}.{payload}.", b64(json!({"alg": "none", "typ": "JWT"}))),
        ),
        (
            "another key",
            sign(
                &claims(Some("cdt-api"), "cdt-api", now, now + 600),
                b"another-secret-another-secret-0123456",
            ),
        ),
        (
            "expired",
            sign(
                &claims(Some("cdt-api"), "cdt-api", now - 1200, now - 600),
                secret,
            ),
        ),
        (
            "not yet valid",
            sign(
                &claims(Some("cdt-api"), "cdt-api", now + 600, now + 1200),
                secret,
            ),
        ),
        (
            "no issuer",
            sign(&claims(None, "cdt-api", now, now + 600), secret),
        ),
        (
            "wrong issuer",
            sign(
                &claims(Some("someone-else"), "cdt-api", now, now + 600),
                secret,
            ),
        ),
        (
            "wrong audience",
            sign(
                &claims(Some("cdt-api"), "another-app", now, now + 600),
                secret,
            ),
        ),
        (
            "tampered payload",
            format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
        ),
        ("garbage", "definitely.not.a-jwt".to_owned()),
    ];
    for (name, token) in forged {
        let response = me(&app, &token).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(
            problem(response, 401).await["code"],
            "unauthorized",
            "{name}"
        );
    }
    let response = app.request(Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(problem(response, 401).await["code"], "unauthorized");
}

#[actix_web::test]
async fn each_user_is_rate_limited_with_retry_after_and_ratelimit_headers() {
    let database = crate::test_db::TestDatabase::create();
    let mut settings = crate::helpers::test_settings(database.url());
    settings.rate_limit_per_minute = 3;
    settings.login_rate_limit_per_minute = 4;
    let app = TestApp::spawn_with(database, &settings).await;
    app.create_user("ban.ron", "admin", None);
    app.create_user("nguoi.khac", "admin", None);
    let token = app.token("ban.ron").await;
    let other = app.token("nguoi.khac").await;

    for _ in 0..3 {
        assert_eq!(me(&app, &token).await.status(), 200);
    }
    let limited = me(&app, &token).await;
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    assert_eq!(limited.headers()["ratelimit-limit"], "3");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    assert!(limited.headers().contains_key("ratelimit-reset"));
    assert_eq!(problem(limited, 429).await["code"], "rate_limited");
    // Another user is not affected.
    assert_eq!(me(&app, &other).await.status(), 200);

    // Logins per client IP: two were used above, two more pass, the fifth is refused.
    assert_eq!(
        app.login("ban.ron", "wrong password here").await.status(),
        401
    );
    assert_eq!(
        app.login("ban.ron", "wrong password here").await.status(),
        401
    );
    assert_eq!(
        problem(app.login("ban.ron", PASSWORD).await, 429).await["code"],
        "rate_limited"
    );
}
