//! The file store behind attachments: the same tests on the local disk and on an S3-compatible server
//! (moto's server mode, from PyPI, started here), and the whole evidence flow on S3.
//!
//! moto is found through `CDT_TEST_MOTO_SERVER` (the `moto_server` program) or on `PATH`; without it
//! the S3 half is skipped with a message, unless `CI_REQUIRE_MOTO=1` (CI sets it and installs moto).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cdt_api::{
    config::StorageBackend,
    storage::{Storage, StorageError},
};
use futures_util::StreamExt;
use reqwest::Method;

use crate::helpers::{TestApp, test_settings};

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_program() -> Option<String> {
    if let Ok(path) = std::env::var("CDT_TEST_MOTO_SERVER") {
        return Some(path);
    }
    std::env::var("PATH").ok().and_then(|path| {
        path.split(':')
            .map(|dir| format!("{dir}/moto_server"))
            .find(|candidate| std::path::Path::new(candidate).is_file())
    })
}

/// Starts moto with a bucket, or `None` (skipping) when moto is not installed.
async fn moto(bucket: &str) -> Option<Moto> {
    let Some(program) = moto_program() else {
        assert!(
            std::env::var("CI_REQUIRE_MOTO").is_err(),
            "CI_REQUIRE_MOTO is set but moto_server was not found (set CDT_TEST_MOTO_SERVER)"
        );
        eprintln!(
            "skipped: moto_server not found (pip install 'moto[server]'); the S3 tests need it"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // moto takes unsigned requests: make the bucket.
        match client
            .request(Method::PUT, format!("{}/{bucket}", moto.endpoint))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => break,
            _ if Instant::now() > deadline => panic!("moto did not start within 60 s"),
            _ => actix_web::rt::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Some(moto)
}

fn s3(moto: &Moto, bucket: &str) -> StorageBackend {
    StorageBackend::S3 {
        bucket: bucket.to_owned(),
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some(secrecy::SecretString::from("testing".to_owned())),
    }
}

async fn read_all(storage: &Storage, key: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let mut download = storage.get(key, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(block) = download.body.next().await {
        out.extend_from_slice(&block.unwrap());
    }
    out
}

/// What every backend must do.
async fn exercise(storage: &Storage) {
    // A file larger than one S3 part (5 MiB), streamed up from a staging file.
    let bytes: Vec<u8> = (0..7 * 1024 * 1024 + 123)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let mut file = storage.staging_file().unwrap();
    std::io::Write::write_all(file.as_file_mut(), &bytes).unwrap();
    storage.put_file("blobs/ab/abcdef", file).await.unwrap();
    assert_eq!(
        storage.size("blobs/ab/abcdef").await.unwrap(),
        Some(bytes.len() as u64)
    );
    assert_eq!(read_all(storage, "blobs/ab/abcdef", None).await, bytes);
    // A range, as a download with `Range` asks for it.
    let part = read_all(storage, "blobs/ab/abcdef", Some(5_000_000..5_300_000)).await;
    assert_eq!(part, &bytes[5_000_000..5_300_000]);
    let download = storage.get("blobs/ab/abcdef", Some(10..20)).await.unwrap();
    assert_eq!(
        (download.range.clone(), download.size),
        (10..20, bytes.len() as u64)
    );
    // Storing the same key again replaces it (content-addressed keys only ever get the same bytes).
    let mut again = storage.staging_file().unwrap();
    std::io::Write::write_all(again.as_file_mut(), &bytes).unwrap();
    storage.put_file("blobs/ab/abcdef", again).await.unwrap();
    assert_eq!(
        storage.size("blobs/ab/abcdef").await.unwrap(),
        Some(bytes.len() as u64)
    );
    // Missing objects.
    assert_eq!(storage.size("blobs/00/missing").await.unwrap(), None);
    assert!(matches!(
        storage.get("blobs/00/missing", None).await,
        Err(StorageError::NotFound(_))
    ));
    // Parts of an upload, removed together.
    for offset in [0, 100, 200] {
        let mut part = storage.staging_file().unwrap();
        std::io::Write::write_all(part.as_file_mut(), &[offset as u8; 100]).unwrap();
        storage
            .put_file(&format!("uploads/u1/{offset:020}-x"), part)
            .await
            .unwrap();
    }
    let mut copied = Vec::new();
    storage
        .copy_to("uploads/u1/00000000000000000100-x", &mut copied)
        .await
        .unwrap();
    assert_eq!(copied, [100u8; 100]);
    storage.delete_prefix("uploads/u1").await.unwrap();
    assert_eq!(
        storage
            .size("uploads/u1/00000000000000000000-x")
            .await
            .unwrap(),
        None
    );
    storage.delete("blobs/ab/abcdef").await.unwrap();
    storage.delete("blobs/ab/abcdef").await.unwrap();
    assert_eq!(storage.size("blobs/ab/abcdef").await.unwrap(), None);
}

#[actix_web::test]
async fn the_local_disk_store_streams_ranges_replaces_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&StorageBackend::Local, dir.path()).unwrap();
    assert_eq!(storage.backend_name(), "local");
    exercise(&storage).await;
}

#[actix_web::test]
async fn the_s3_store_passes_the_same_tests_against_a_local_s3_server() {
    let Some(moto) = moto("cdt-store").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&s3(&moto, "cdt-store"), dir.path()).unwrap();
    assert_eq!(storage.backend_name(), "s3");
    exercise(&storage).await;
}

#[actix_web::test]
async fn evidence_on_s3_uploads_resumes_attaches_and_downloads() {
    let Some(moto) = moto("cdt-evidence").await else {
        return;
    };
    let database = crate::test_db::TestDatabase::create();
    let mut settings = test_settings(database.url());
    settings.attachments.backend = s3(&moto, "cdt-evidence");
    let staging = tempfile::tempdir().unwrap();
    settings.data_dir = staging.path().to_owned();
    let app = TestApp::spawn_with(database, &settings).await;
    app.seed_son_la();
    let team = app.create_team("TEAM-S3", app.unit_id("son-la.xa-van-ho"));
    let leader = app.create_team_leader("leader", team);
    let session = app.create_session(team, leader);
    let token = app.token("leader").await;
    // In two PATCHes, as after a dropped connection.
    let photo = crate::uploads::with_exif(&crate::uploads::jpeg(800, 600));
    let path = crate::uploads::create(&app, &token, photo.len(), "s3.jpg").await;
    let half = photo.len() / 2;
    let first = crate::uploads::patch(&app, &token, &path, 0, &photo[..half]).await;
    assert_eq!(first.status(), 204);
    let rest = crate::uploads::patch(&app, &token, &path, half, &photo[half..]).await;
    assert_eq!(rest.status(), 204, "{:?}", rest.text().await);
    let id = path.rsplit('/').next().unwrap();
    let attached = crate::uploads::attach(&app, &token, session, id, "photo").await;
    assert_eq!(attached.status(), 201);
    let attachment: serde_json::Value = attached.json().await.unwrap();
    let sha = attachment["sha256"].as_str().unwrap().to_owned();
    // The file is in the bucket under its hash, not on this machine.
    let object = reqwest::get(format!(
        "{}/cdt-evidence/blobs/{}/{sha}",
        moto.endpoint,
        &sha[..2]
    ))
    .await
    .unwrap();
    assert_eq!(object.status(), 200);
    let stored = object.bytes().await.unwrap();
    assert!(!stored.windows(14).any(|w| w == b"CAMERA-SN-4711"));
    let download = app
        .request(
            Method::GET,
            attachment["links"]["download"].as_str().unwrap(),
        )
        .bearer_auth(&token)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 206);
    assert_eq!(download.bytes().await.unwrap().as_ref(), &stored[..100]);
    let thumbnail = app
        .request(
            Method::GET,
            attachment["links"]["thumbnail"].as_str().unwrap(),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(thumbnail.status(), 200);
    // No part is left in the bucket.
    let listing = reqwest::get(format!("{}/cdt-evidence?prefix=uploads/", moto.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listing.contains("<Key>"), "{listing}");
}
