//! `TestApp`: the real server on port 0 over HTTP, on a database of its own.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use cdt_api::{config::Settings, error::AppError, startup::Application};
use secrecy::SecretString;
use serde::Deserialize;

use crate::test_db::TestDatabase;

/// A running server and its database.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client that does not follow redirects or decompress (tests look at raw responses).
    pub client: reqwest::Client,
    /// The test's own database.
    pub database: TestDatabase,
}

/// The `METRICS_TOKEN` of test servers.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// Settings for a test server: port 0, a small pool, a fixed JWT secret.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::from_lookup(|name| match name {
        "HOME" => Some("/nonexistent".to_owned()),
        _ => None,
    })
    .expect("default settings");
    settings.database_url = Some(SecretString::from(database_url.to_owned()));
    settings.bind_addr = "127.0.0.1:0".parse().expect("address");
    settings.jwt_secret = Some(SecretString::from(
        "test-secret-test-secret-test-secret-0123".to_owned(),
    ));
    settings.metrics_token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
    // Attachment files of every test server: content-addressed, so tests share the store safely.
    settings.data_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("data");
    settings.db_pool_size = 4;
    settings.db_pool_timeout = Duration::from_millis(1000);
    settings.password_hash_cost = cdt_api::config::PasswordHashCost {
        memory_kib: 1024,
        iterations: 1,
    };
    settings
}

impl TestApp {
    /// A server on a fresh migrated database.
    pub async fn spawn() -> Self {
        let database = TestDatabase::create();
        let settings = test_settings(database.url());
        Self::spawn_with(database, &settings).await
    }

    /// A server with these settings on `database` (which the settings may or may not point at).
    pub async fn spawn_with(database: TestDatabase, settings: &Settings) -> Self {
        let url = settings.database_url.clone().expect("database url");
        let db = cdt_api::startup::pools(&url, settings);
        let application = Application::build_with_routes(settings, db, probe_routes)
            .expect("building the application");
        let address = format!("http://127.0.0.1:{}", application.port());
        actix_web::rt::spawn(application.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .timeout(Duration::from_secs(20))
            // The server closes idle connections after 5 s (actix's keep-alive); a test that pauses longer
            // (slow CI) must not reuse one the server is closing, so idle connections go after 2 s.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        Self {
            address,
            client,
            database,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }

    /// A request builder for `method path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// `GET path` with `token`: asserts 200 and returns the JSON body.
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let response = self
            .request(reqwest::Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }
}

/// A password that passes the rules.
pub const PASSWORD: &str = "Mây trắng bay qua đỉnh Pha Luông";

impl TestApp {
    /// Inserts a user straight into the database (role, scope unit) with [`PASSWORD`].
    pub fn create_user(
        &self,
        username: &str,
        role: &str,
        org_unit_id: Option<uuid::Uuid>,
    ) -> uuid::Uuid {
        self.create_user_in_team(username, role, org_unit_id, None)
    }

    /// Inserts a team leader of `team` with [`PASSWORD`].
    pub fn create_team_leader(&self, username: &str, team: uuid::Uuid) -> uuid::Uuid {
        let unit = cdt_api::models::team::find(&mut self.database.connect(), team)
            .expect("team")
            .org_unit_id;
        self.create_user_in_team(username, "team_leader", Some(unit), Some(team))
    }

    /// Inserts a team straight into the database.
    pub fn create_team(&self, code: &str, org_unit_id: uuid::Uuid) -> uuid::Uuid {
        let fields = cdt_api::models::team::TeamFields {
            code: code.to_owned(),
            name: format!("Tổ công nghệ số {code}"),
            org_unit_id,
            status: cdt_api::reference::Choice::from_code("active"),
            founded_on: chrono::NaiveDate::from_ymd_opt(2025, 7, 1),
            establishment_decision: None,
            zalo_group_members: None,
            zalo_group_members_as_of: None,
            notes: None,
        };
        let date = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
        cdt_api::models::team::insert(
            &mut self.database.connect(),
            uuid::Uuid::now_v7(),
            &fields,
            date,
        )
        .expect("insert team")
        .id
    }

    /// An active team founded in 2023 serving the old commune-level unit `old`, which followed the 2025
    /// reorganisation into `new` on 2025-07-01.
    pub fn create_team_with_history(
        &self,
        code: &str,
        old: uuid::Uuid,
        new: uuid::Uuid,
    ) -> uuid::Uuid {
        let mut conn = self.database.connect();
        let founded = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("date");
        let fields = cdt_api::models::team::TeamFields {
            code: code.to_owned(),
            name: format!("Tổ công nghệ số {code}"),
            org_unit_id: old,
            status: cdt_api::reference::Choice::from_code("active"),
            founded_on: Some(founded),
            establishment_decision: None,
            zalo_group_members: None,
            zalo_group_members_as_of: None,
            notes: None,
        };
        let team = cdt_api::models::team::insert(&mut conn, uuid::Uuid::now_v7(), &fields, founded)
            .expect("insert team")
            .id;
        let merged = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
        cdt_api::models::team::follow_reorganization(&mut conn, &[old], new, merged)
            .expect("follow the reorganisation");
        team
    }

    /// Adds a new person with `phone` to `team` in `role`; returns (membership id, person id).
    pub fn add_member(
        &self,
        team: uuid::Uuid,
        name: &str,
        phone: Option<&str>,
        role: &str,
    ) -> (uuid::Uuid, uuid::Uuid) {
        let mut conn = self.database.connect();
        let person = cdt_api::models::person::insert_person(
            &mut conn,
            uuid::Uuid::now_v7(),
            &cdt_api::models::person::PersonFields {
                full_name: Some(name.to_owned()),
                phone: phone.map(str::to_owned),
                gender: cdt_api::reference::Choice::from_code("female"),
                birth_year: Some(1990),
                ethnicity: Some(cdt_api::reference::Choice::from_code("thai")),
                affiliation: cdt_api::reference::Choice::from_code("resident"),
            },
        )
        .expect("person");
        let date = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
        let membership = cdt_api::models::person::insert_membership(
            &mut conn,
            team,
            person.id,
            <cdt_api::reference::MembershipRole as cdt_api::reference::Vocabulary>::parse(role)
                .expect("a membership role"),
            date,
        )
        .expect("membership");
        (membership.id, person.id)
    }

    /// Inserts a submitted session of `team`, held yesterday, with 20 participants.
    pub fn create_session(&self, team: uuid::Uuid, created_by: uuid::Uuid) -> uuid::Uuid {
        let mut conn = self.database.connect();
        let unit = cdt_api::models::team::find(&mut conn, team)
            .expect("team")
            .org_unit_id;
        let fields = session_fields(
            team,
            unit,
            chrono::Utc::now().date_naive() - chrono::Duration::days(1),
        );
        cdt_api::models::training_session::insert(
            &mut conn,
            uuid::Uuid::now_v7(),
            &fields,
            created_by,
        )
        .expect("insert session")
        .expect("new session")
        .id
    }

    fn create_user_in_team(
        &self,
        username: &str,
        role: &str,
        org_unit_id: Option<uuid::Uuid>,
        team_id: Option<uuid::Uuid>,
    ) -> uuid::Uuid {
        let hashing = cdt_api::auth::password::PasswordHashing::new(
            cdt_api::config::PasswordHashCost {
                memory_kib: 1024,
                iterations: 1,
            },
            1,
        )
        .expect("hashing");
        let mut conn = self.database.connect();
        cdt_api::models::user::insert(
            &mut conn,
            &cdt_api::models::user::NewUser {
                id: uuid::Uuid::now_v7(),
                username: username.to_owned(),
                display_name: format!("Người dùng {username}"),
                phone: Some("+84912345678".to_owned()),
                password_hash: hashing.hash(PASSWORD).expect("hash"),
                role: cdt_api::reference::Role::parse(role).expect("a role"),
                org_unit_id,
                team_id,
                person_id: None,
            },
        )
        .expect("insert user")
        .id
    }

    /// Signs in and returns the session JSON.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/v1/auth/login")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    /// Signs in with [`PASSWORD`] and returns the access token.
    pub async fn token(&self, username: &str) -> String {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), 200, "login of {username}");
        let body: serde_json::Value = response.json().await.expect("session");
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// Seeds Sơn La's units.
    pub fn seed_son_la(&self) {
        cdt_api::seed::son_la(&mut self.database.connect()).expect("seed");
    }

    /// The id of the unit with `code`.
    pub fn unit_id(&self, code: &str) -> uuid::Uuid {
        cdt_api::models::org_unit::find_by_code(&mut self.database.connect(), code)
            .expect("query")
            .expect("unit exists")
            .id
    }
}

/// The `(field, code)` pairs of a problem's `errors`, in order.
pub fn field_errors(problem: &serde_json::Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .expect("a problem with errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().expect("field").to_owned(),
                e["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

/// Reads a problem+json response, asserting the content type and the status.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status);
    let code = body["code"].as_str().expect("code").to_owned();
    assert_eq!(body["type"], format!("/problems/{code}"));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        body["request_id"].as_str(),
        request_id.as_deref(),
        "request id in body and header"
    );
    body
}

/// Test-only routes that reach the app-wide extractor configuration through real handlers.
fn probe_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/__probe/json", web::post().to(probe_json))
        .route("/__probe/query", web::get().to(probe_query))
        .route("/__probe/path/{id}", web::get().to(probe_path))
        .route("/__probe/internal", web::get().to(probe_internal));
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Probe {
    name: String,
    count: u32,
}

async fn probe_json(body: web::Json<Probe>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

#[derive(Debug, Deserialize)]
struct ProbeQuery {
    limit: u32,
}

async fn probe_query(query: web::Query<ProbeQuery>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"limit": query.limit}))
}

async fn probe_path(id: web::Path<uuid::Uuid>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"id": id.into_inner()}))
}

async fn probe_internal() -> Result<HttpResponse, AppError> {
    Err(AppError::internal(anyhow::anyhow!(
        "connection string postgres://cdt:hunter2@db/cdt"
    )))
}

/// Plausible session fields.
pub fn session_fields(
    team: uuid::Uuid,
    unit: uuid::Uuid,
    held_on: chrono::NaiveDate,
) -> cdt_api::models::training_session::SessionFields {
    cdt_api::models::training_session::SessionFields {
        team_id: team,
        org_unit_id: unit,
        kind: cdt_api::reference::Choice::from_code("training"),
        held_on,
        start_time: None,
        duration_minutes: 90,
        format: cdt_api::reference::Choice::from_code("in_person"),
        venue: Some("Nhà văn hoá bản".to_owned()),
        topics: vec![cdt_api::reference::Choice::from_code("vneid")],
        participants_total: 20,
        participants_female: 10,
        participants_ethnic_minority: 18,
        participants_elderly: 3,
        households_reached: 15,
        vneid_activations: 5,
        payment_accounts_opened: 2,
        public_service_accounts_created: 3,
        online_dossiers_submitted: 1,
        apps_installed: 6,
        trainers: Vec::new(),
        notes: None,
        recorded_at: None,
    }
}

/// Another client holding `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in an open transaction, so
/// requests that need the table wait in the database (in flight) until [`TableLock::release`].
#[derive(Debug)]
pub struct TableLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl TableLock {
    /// Takes the lock through `url` and returns once it is held.
    pub async fn take(url: &str, table: &'static str) -> Self {
        use diesel::{Connection, connection::SimpleConnection};
        let url = url.to_owned();
        let (locked_sender, locked) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut conn = diesel::PgConnection::establish(&url).expect("lock connection");
            conn.batch_execute(&format!(
                "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
            ))
            .expect("lock");
            locked_sender.send(()).expect("lock taken");
            // Released, or the test ended: either way the transaction ends (or the server already went,
            // taking the lock with it).
            let _ = released.recv();
            let _ = conn.batch_execute("COMMIT");
        });
        locked.await.expect("lock holder");
        Self { release, holder }
    }

    /// Commits the lock's transaction and waits until it is gone.
    pub fn release(self) {
        self.release.send(()).expect("lock holder alive");
        self.holder.join().expect("lock holder");
    }
}

/// `GET /metrics` with `token`: asserts a 200 in OpenMetrics text and returns it.
pub async fn metrics_text(app: &TestApp, token: &str) -> String {
    let response = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth(token)
        .send()
        .await
        .expect("metrics request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.expect("metrics text")
}

/// The value of the first sample line of OpenMetrics `text` that starts with `series` (0 if none).
pub fn metric_sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().expect("a number"))
}

#[derive(diesel::QueryableByName)]
struct SqlCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The `count` column of a one-row `query` (a `count(*)` or a `sum(...)::bigint ... AS count`).
pub fn sql_count(conn: &mut diesel::PgConnection, query: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(query)
        .get_result::<SqlCount>(conn)
        .unwrap_or_else(|error| panic!("{query}: {error}"))
        .count
}
