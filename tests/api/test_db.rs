//! One PostgreSQL per test run, one migrated template database, one clone of it per test.
//!
//! Without `TEST_DATABASE_URL` the run starts a throwaway cluster with the same launcher `cdt-api serve`
//! uses (durability off for speed); a watchdog stops it and deletes its directory when the test process
//! ends. With `TEST_DATABASE_URL` (a role allowed to create databases) that server is used instead.

use std::sync::OnceLock;

use cdt_api::db::{
    embedded::{EmbeddedOptions, EmbeddedPostgres},
    migrations,
};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

struct Cluster {
    /// URL of the cluster with the database part left for [`Cluster::url_for`].
    base_url: String,
    template: String,
    _embedded: Option<EmbeddedPostgres>,
}

impl Cluster {
    fn url_for(&self, database: &str) -> String {
        format!("{}/{database}", self.base_url)
    }
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let (base_url, embedded) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let base = url
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .expect("TEST_DATABASE_URL has a database");
                (base, None)
            }
            _ => {
                let dir = tempfile::Builder::new()
                    .prefix("cdt-api-test-")
                    .tempdir()
                    .expect("temporary directory")
                    .keep();
                let embedded = EmbeddedPostgres::start(&EmbeddedOptions {
                    data_dir: dir,
                    database: "postgres".to_owned(),
                    bindir: None,
                    ephemeral: true,
                    archive: None,
                })
                .expect("starting the test PostgreSQL");
                let url = embedded.url_for("postgres");
                let base = url
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .expect("url");
                (base, Some(embedded))
            }
        };
        let template = format!("cdt_template_{}", std::process::id());
        let mut admin =
            PgConnection::establish(&format!("{base_url}/postgres")).expect("admin connection");
        sql_query(format!("DROP DATABASE IF EXISTS {template}"))
            .execute(&mut admin)
            .expect("drop old template");
        sql_query(format!("CREATE DATABASE {template}"))
            .execute(&mut admin)
            .expect("create template");
        {
            let mut conn = PgConnection::establish(&format!("{base_url}/{template}"))
                .expect("template connection");
            migrations::run_pending(&mut conn).expect("migrating the template");
        }
        Cluster {
            base_url,
            template,
            _embedded: embedded,
        }
    })
}

/// A database of its own for one test, cloned from the migrated template; dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, migrated database.
    pub fn create() -> Self {
        Self::create_from(Some(&cluster().template))
    }

    /// A fresh database with no migrations applied.
    pub fn create_empty() -> Self {
        Self::create_from(None)
    }

    fn create_from(template: Option<&str>) -> Self {
        let cluster = cluster();
        let name = format!("cdt_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin =
            PgConnection::establish(&cluster.url_for("postgres")).expect("admin connection");
        let template = template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        sql_query(format!("CREATE DATABASE {name}{template}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = cluster.url_for(&name);
        Self { name, url }
    }

    /// A database this run did not create (another cluster): never dropped.
    pub fn existing(url: String) -> Self {
        Self {
            name: String::new(),
            url,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A direct connection, for asserting on what is stored.
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("test database connection")
    }

    /// A connection to the cluster's `postgres` database, for administrative statements.
    pub fn admin(&self) -> PgConnection {
        PgConnection::establish(&cluster().url_for("postgres")).expect("admin connection")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        if let Ok(mut admin) = PgConnection::establish(&cluster().url_for("postgres")) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
