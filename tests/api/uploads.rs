//! Evidence: tus uploads (resume after a cut, checksums, types from the bytes, sizes), metadata removal,
//! content-addressed storage, attachments with their scope rules, downloads with ranges and the read log.

use std::io::{Read, Write};

use base64::Engine;
use diesel::{QueryDsl, RunQueryDsl};
use reqwest::Method;
use serde_json::json;
use sha2::Digest;

use crate::helpers::{TestApp, field_errors, problem};

pub struct World {
    pub app: TestApp,
    pub team: uuid::Uuid,
    pub session: uuid::Uuid,
    pub other_session: uuid::Uuid,
    pub leader: String,
    pub officer: String,
    pub viewer: String,
    pub admin: String,
    pub other_leader: String,
}

pub async fn world() -> World {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-van-ho");
    let elsewhere = app.unit_id("son-la.phuong-to-hieu");
    let team = app.create_team("TEAM-E", commune);
    let other_team = app.create_team("TEAM-F", elsewhere);
    let leader_id = app.create_team_leader("leader", team);
    let other_leader_id = app.create_team_leader("other.leader", other_team);
    app.create_user("officer", "officer", Some(commune));
    app.create_user("viewer", "viewer", Some(commune));
    app.create_user("admin", "admin", None);
    let session = app.create_session(team, leader_id);
    let other_session = app.create_session(other_team, other_leader_id);
    World {
        team,
        session,
        other_session,
        leader: app.token("leader").await,
        officer: app.token("officer").await,
        viewer: app.token("viewer").await,
        admin: app.token("admin").await,
        other_leader: app.token("other.leader").await,
        app,
    }
}

/// A real JPEG (a gradient of `w` x `h`) without metadata.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&image)
        .unwrap();
    out
}

/// A big-endian TIFF (EXIF) block: DateTime, the camera make (a serial stands in), a GPS-like text.
fn exif_tiff() -> Vec<u8> {
    let date = b"2026:11:02 08:30:15\0";
    let make = b"CAMERA-SN-4711-SECRET\0";
    let note = b"GPS 21.3269N 103.9144E\0";
    let entries: [(u16, &[u8]); 3] = [(0x010F, make), (0x0132, date), (0x010E, note)];
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    let data_start = 8 + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    tiff.extend((entries.len() as u16).to_be_bytes());
    for (tag, value) in entries {
        tiff.extend(tag.to_be_bytes());
        tiff.extend(2u16.to_be_bytes());
        tiff.extend((value.len() as u32).to_be_bytes());
        tiff.extend(((data_start + data.len()) as u32).to_be_bytes());
        data.extend_from_slice(value);
    }
    tiff.extend(0u32.to_be_bytes());
    tiff.extend(data);
    tiff
}

/// `jpeg` with an EXIF block after its start marker.
pub fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_tiff());
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

/// A small PDF whose bytes are kept as they are.
pub fn pdf(tag: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    out.extend(format!("1 0 obj << /Title ({tag}) >> endobj\n").as_bytes());
    for i in 0..2000 {
        out.extend(format!("% filler line {i} of the sign-in sheet scan\n").as_bytes());
    }
    out.extend(b"%%EOF\n");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn tus(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.request(method, path)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
}

/// Starts an upload of `length` bytes; its path.
pub async fn create(app: &TestApp, token: &str, length: usize, name: &str) -> String {
    let metadata = format!(
        "filename {},filetype {}",
        base64::engine::general_purpose::STANDARD.encode(name),
        base64::engine::general_purpose::STANDARD.encode("image/jpeg")
    );
    let response = tus(app, Method::POST, "/api/v1/uploads", token)
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    assert!(response.headers().contains_key("upload-expires"));
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    tus(app, Method::PATCH, path, token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

async fn offset(app: &TestApp, token: &str, path: &str) -> u64 {
    let response = tus(app, Method::HEAD, path, token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Uploads `bytes` in one `PATCH`; the upload's id.
pub async fn upload(app: &TestApp, token: &str, bytes: &[u8], name: &str) -> String {
    let path = create(app, token, bytes.len(), name).await;
    let response = patch(app, token, &path, 0, bytes).await;
    assert_eq!(response.status(), 204, "{:?}", response.text().await);
    assert_eq!(
        response.headers()["upload-offset"],
        bytes.len().to_string().as_str()
    );
    path.rsplit('/').next().unwrap().to_owned()
}

pub async fn attach(
    app: &TestApp,
    token: &str,
    session: uuid::Uuid,
    upload: &str,
    kind: &str,
) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/training-sessions/{session}/attachments"),
    )
    .bearer_auth(token)
    .json(&json!({"upload_id": upload, "kind": kind, "caption": "Danh sách ký tên bản Nà Sài"}))
    .send()
    .await
    .unwrap()
}

async fn download(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_upload_cut_off_half_way_resumes_from_its_offset_and_ends_byte_identical() {
    let w = world().await;
    let file = pdf("resume");
    let path = create(&w.app, &w.leader, file.len(), "so-tay.pdf").await;
    // Half of the body, then the connection drops (the phone lost its signal).
    let half = file.len() / 2;
    let address = w.app.address.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        w.leader,
        file.len()
    )
    .unwrap();
    stream.write_all(&file[..half]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stream);
    // The bytes that arrived are kept: HEAD says how many (kept by a task once the request is gone).
    let mut stored = 0;
    for _ in 0..100 {
        stored = offset(&w.app, &w.leader, &path).await;
        if stored > 0 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stored as usize, half, "every byte that arrived is kept");
    // A PATCH from a stale offset is refused; from the stored one it completes the file.
    let stale = patch(&w.app, &w.leader, &path, 0, &file).await;
    let body = problem(stale, 409).await;
    assert_eq!(body["code"], "upload_offset_mismatch");
    let rest = patch(&w.app, &w.leader, &path, half, &file[half..]).await;
    assert_eq!(rest.status(), 204);
    assert_eq!(
        rest.headers()["upload-offset"],
        file.len().to_string().as_str()
    );
    assert_eq!(offset(&w.app, &w.leader, &path).await as usize, file.len());
    let id = path.rsplit('/').next().unwrap();
    let attached = attach(&w.app, &w.leader, w.session, id, "attendance_sheet").await;
    assert_eq!(attached.status(), 201);
    let attachment: serde_json::Value = attached.json().await.unwrap();
    assert_eq!(attachment["media_type"], "application/pdf");
    assert_eq!(attachment["file_name"], "so-tay.pdf");
    assert_eq!(attachment["bytes"], file.len());
    assert!(
        attachment["links"]["thumbnail"].is_null(),
        "a PDF has no thumbnail"
    );
    let got = download(
        &w.app,
        &w.leader,
        attachment["links"]["download"].as_str().unwrap(),
    )
    .await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"so-tay.pdf\""
    );
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        &file[..],
        "byte-identical"
    );
    // The parts are gone from the store once the file is whole.
    let parts = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("data/files/uploads")
        .join(id);
    assert!(!parts.exists(), "{parts:?} removed");
}

#[actix_web::test]
async fn a_wrong_checksum_is_refused_with_460_and_nothing_is_stored() {
    let w = world().await;
    let file = pdf("checksum");
    let path = create(&w.app, &w.leader, file.len(), "a.pdf").await;
    let wrong = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b"other"));
    let response = tus(&w.app, Method::PATCH, &path, &w.leader)
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", format!("sha256 {wrong}"))
        .header("Content-Type", "application/offset+octet-stream")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    let body = problem(response, 460).await;
    assert_eq!(body["code"], "checksum_mismatch");
    assert_eq!(offset(&w.app, &w.leader, &path).await, 0);
    let id: uuid::Uuid = path.rsplit('/').next().unwrap().parse().unwrap();
    let parts: Vec<Option<String>> = cdt_api::db::schema::uploads::table
        .find(id)
        .select(cdt_api::db::schema::uploads::parts)
        .first(&mut w.app.database.connect())
        .unwrap();
    assert!(parts.is_empty(), "no part recorded");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("data/files/uploads")
        .join(id.to_string());
    assert!(!dir.exists(), "no part stored");
    // An unknown algorithm is a 400; the right checksum is accepted.
    let md5 = tus(&w.app, Method::PATCH, &path, &w.leader)
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", "md5 1B2M2Y8AsgTpgAmY7PhCfg==")
        .header("Content-Type", "application/offset+octet-stream")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    let body = problem(md5, 400).await;
    assert_eq!(
        field_errors(&body),
        [("Upload-Checksum".to_owned(), "invalid_checksum".to_owned())]
    );
    let right = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&file));
    let ok = tus(&w.app, Method::PATCH, &path, &w.leader)
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", format!("sha256 {right}"))
        .header("Content-Type", "application/offset+octet-stream")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
}

#[actix_web::test]
async fn files_are_recognised_from_their_bytes_and_sizes_are_refused_before_reading() {
    let w = world().await;
    // A GIF sent as a JPEG with a .jpg name: refused at its first bytes, and the upload removed.
    let gif = [b"GIF89a".as_slice(), &[0u8; 200]].concat();
    let path = create(&w.app, &w.leader, gif.len(), "anh.jpg").await;
    let response = tus(&w.app, Method::PATCH, &path, &w.leader)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(gif)
        .send()
        .await
        .unwrap();
    let body = problem(response, 415).await;
    assert_eq!(body["code"], "unsupported_media_type");
    let gone = tus(&w.app, Method::HEAD, &path, &w.leader)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    // An HTML page whose first bytes pass for nothing, in a creation-with-upload.
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let response = tus(&w.app, Method::POST, "/api/v1/uploads", &w.leader)
        .header("Upload-Length", html.len().to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(html)
        .send()
        .await
        .unwrap();
    problem(response, 415).await;
    // A file that starts like a JPEG but is not one: 422 when it is finished.
    let fake = [&[0xFF, 0xD8, 0xFF, 0xE0, 0x00][..], &[7u8; 100]].concat();
    let path = create(&w.app, &w.leader, fake.len(), "x.jpg").await;
    let body = problem(patch(&w.app, &w.leader, &path, 0, &fake).await, 422).await;
    assert_eq!(
        field_errors(&body),
        [("file".to_owned(), "malformed_file".to_owned())]
    );

    // Too large: 413 from the headers alone, the body never read.
    let too_big = 15 * 1024 * 1024 + 1;
    let response = tus(&w.app, Method::POST, "/api/v1/uploads", &w.leader)
        .header("Upload-Length", too_big.to_string())
        .send()
        .await
        .unwrap();
    problem(response, 413).await;
    let path = create(&w.app, &w.leader, 1000, "b.pdf").await;
    let address = w.app.address.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 5000000\r\n\r\n",
        w.leader
    )
    .unwrap();
    // Not one byte of the body sent: the answer comes anyway.
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    // Without Tus-Resumable: 400 naming the header; another version: 412; both name the version spoken.
    let response = w
        .app
        .request(Method::POST, "/api/v1/uploads")
        .bearer_auth(&w.leader)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["tus-version"], "1.0.0");
    let body = problem(response, 400).await;
    assert_eq!(
        field_errors(&body),
        [("Tus-Resumable".to_owned(), "required".to_owned())]
    );
    let response = w
        .app
        .request(Method::POST, "/api/v1/uploads")
        .bearer_auth(&w.leader)
        .header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["tus-version"], "1.0.0");
    problem(response, 412).await;
    // Discovery.
    let options = w
        .app
        .request(Method::OPTIONS, "/api/v1/uploads")
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers()["tus-max-size"], "15728640");
    assert_eq!(options.headers()["tus-checksum-algorithm"], "sha256");
    assert!(
        options.headers()["tus-extension"]
            .to_str()
            .unwrap()
            .contains("creation-with-upload")
    );
}

#[actix_web::test]
async fn exif_is_removed_duplicates_are_stored_once_and_downloads_take_ranges() {
    let w = world().await;
    let photo = with_exif(&jpeg(1200, 900));
    assert!(contains(&photo, b"CAMERA-SN-4711"));
    let first = upload(&w.app, &w.leader, &photo, "IMG_2041.JPG").await;
    let attached = attach(&w.app, &w.leader, w.session, &first, "photo").await;
    assert_eq!(attached.status(), 201);
    let attachment: serde_json::Value = attached.json().await.unwrap();
    assert_eq!(attachment["captured_at"], "2026-11-02T08:30:15");
    assert_eq!(
        (attachment["width"].as_i64(), attachment["height"].as_i64()),
        (Some(1200), Some(900))
    );
    assert_eq!(attachment["content_visible"], true);
    let content = attachment["links"]["download"].as_str().unwrap().to_owned();
    let stored = download(&w.app, &w.leader, &content).await;
    assert_eq!(stored.status(), 200);
    assert_eq!(
        stored.headers()["content-disposition"],
        "attachment; filename=\"IMG_2041.jpg\""
    );
    let etag = stored.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = stored.bytes().await.unwrap();
    assert!(
        !contains(&bytes, b"CAMERA-SN-4711"),
        "the camera serial is gone"
    );
    assert!(!contains(&bytes, b"GPS 21.3269N"), "the position is gone");
    assert!(
        !contains(&bytes, b"Exif\0\0"),
        "no EXIF block left (upright photo)"
    );
    assert_eq!(bytes.len() as i64, attachment["bytes"].as_i64().unwrap());
    assert_eq!(
        format!("\"{}\"", attachment["sha256"].as_str().unwrap()),
        etag,
        "the ETag is the stored file's SHA-256"
    );
    assert_eq!(
        hex(&sha2::Sha256::digest(&bytes)),
        attachment["sha256"].as_str().unwrap()
    );
    // The thumbnail: a small JPEG.
    let thumb = download(
        &w.app,
        &w.officer,
        attachment["links"]["thumbnail"].as_str().unwrap(),
    )
    .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let thumb = thumb.bytes().await.unwrap();
    assert!(
        thumb.len() < 60_000 && thumb.starts_with(&[0xFF, 0xD8, 0xFF]),
        "{}",
        thumb.len()
    );

    // The same photo again (from the officer's phone): stored once.
    let second = upload(&w.app, &w.officer, &photo, "copy.jpg").await;
    let again = attach(&w.app, &w.officer, w.session, &second, "photo").await;
    assert_eq!(again.status(), 201);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["sha256"], attachment["sha256"]);
    let blobs: i64 = cdt_api::db::schema::blobs::table
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(blobs, 1, "one stored file for two attachments");
    // Attaching the same upload again is answered with the same attachment, not a second one.
    let retried = attach(&w.app, &w.officer, w.session, &second, "photo").await;
    assert_eq!(retried.status(), 200);
    let retried: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(retried["id"], again["id"]);
    let list = w
        .app
        .get_json(
            &w.officer,
            &format!("/api/v1/training-sessions/{}/attachments", w.session),
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Range and If-None-Match.
    let range = w
        .app
        .request(Method::GET, &content)
        .bearer_auth(&w.leader)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(
        range.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(range.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let beyond = w
        .app
        .request(Method::GET, &content)
        .bearer_auth(&w.leader)
        .header("Range", format!("bytes={}-", bytes.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(beyond, 416).await["code"], "range_not_satisfiable");
    let cached = w
        .app
        .request(Method::GET, &content)
        .bearer_auth(&w.leader)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert!(cached.bytes().await.unwrap().is_empty());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[actix_web::test]
async fn bytes_are_for_those_who_see_full_personal_data_and_each_original_download_is_logged() {
    let w = world().await;
    let id = upload(&w.app, &w.leader, &jpeg(400, 300), "sheet.jpg").await;
    let attachment: serde_json::Value =
        attach(&w.app, &w.leader, w.session, &id, "attendance_sheet")
            .await
            .json()
            .await
            .unwrap();
    let attachment_id = attachment["id"].as_str().unwrap().to_owned();
    let content = format!("/api/v1/attachments/{attachment_id}/content");
    let thumbnail = format!("/api/v1/attachments/{attachment_id}/thumbnail");
    // A viewer in scope sees the metadata, not the bytes.
    let seen = w
        .app
        .get_json(
            &w.viewer,
            &format!("/api/v1/training-sessions/{}/attachments", w.session),
        )
        .await;
    assert_eq!(seen["items"][0]["content_visible"], false);
    assert!(seen["items"][0]["links"].is_null());
    assert_eq!(seen["items"][0]["kind"], "attendance_sheet");
    problem(download(&w.app, &w.viewer, &content).await, 403).await;
    problem(download(&w.app, &w.viewer, &thumbnail).await, 403).await;
    // Another team's leader: the record does not exist for them.
    problem(download(&w.app, &w.other_leader, &content).await, 404).await;
    problem(
        download(
            &w.app,
            &w.other_leader,
            &format!("/api/v1/attachments/{attachment_id}"),
        )
        .await,
        404,
    )
    .await;
    // Another user's upload cannot be attached (nor seen through tus).
    let foreign = upload(&w.app, &w.other_leader, &jpeg(64, 64), "x.jpg").await;
    let body = problem(
        attach(&w.app, &w.officer, w.session, &foreign, "photo").await,
        422,
    )
    .await;
    assert_eq!(
        field_errors(&body),
        [("upload_id".to_owned(), "unknown_upload".to_owned())]
    );
    let head = tus(
        &w.app,
        Method::HEAD,
        &format!("/api/v1/uploads/{foreign}"),
        &w.leader,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(head.status(), 404);
    // The officer and the admin download; each original download is one entry of the read log, the
    // thumbnail none.
    for token in [&w.officer, &w.admin, &w.leader] {
        assert_eq!(download(&w.app, token, &content).await.status(), 200);
    }
    assert_eq!(download(&w.app, &w.officer, &thumbnail).await.status(), 200);
    let reads = w
        .app
        .get_json(
            &w.admin,
            &format!("/api/v1/personal-data-reads?attachment_id={attachment_id}"),
        )
        .await;
    let items = reads["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|r| r["fields"] == "attachment" && r["person_id"].is_null())
    );
    // A viewer cannot delete; the leader can; the attachment is then gone for everyone.
    let refused = w
        .app
        .request(
            Method::DELETE,
            &format!("/api/v1/attachments/{attachment_id}"),
        )
        .bearer_auth(&w.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let deleted = w
        .app
        .request(
            Method::DELETE,
            &format!("/api/v1/attachments/{attachment_id}"),
        )
        .bearer_auth(&w.leader)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    problem(download(&w.app, &w.admin, &content).await, 404).await;
    let deleted_at: Option<chrono::DateTime<chrono::Utc>> = cdt_api::db::schema::attachments::table
        .find(attachment_id.parse::<uuid::Uuid>().unwrap())
        .select(cdt_api::db::schema::attachments::deleted_at)
        .first(&mut w.app.database.connect())
        .unwrap();
    assert!(deleted_at.is_some(), "kept for the retention period");
    let _ = w.team;
    let _ = w.other_session;
}

#[actix_web::test]
async fn a_session_made_offline_gets_its_photos_through_sync_and_phones_pull_their_metadata() {
    let w = world().await;
    // On the phone: a session with a client-made id, and its sign-in sheet uploaded first.
    let id = uuid::Uuid::now_v7();
    let sheet = upload(&w.app, &w.leader, &jpeg(300, 400), "danh-sach.jpg").await;
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(2);
    let item = json!({
        "type": "training_session", "op": "upsert", "id": id, "base_version": null,
        "data": {"team_id": w.team, "kind": "training", "held_on": day, "duration_minutes": 90,
                 "format": "in_person", "topics": ["vneid"], "participants_total": 24,
                 "participants_female": 12, "participants_ethnic_minority": 20, "participants_elderly": 2,
                 "households_reached": 15},
        "attachments": [{"upload_id": sheet, "kind": "attendance_sheet", "caption": "Ký tên"}]
    });
    let push = |items: serde_json::Value| {
        let app = &w.app;
        let token = w.leader.clone();
        async move {
            let response = app
                .request(Method::POST, "/api/v1/sync/push")
                .bearer_auth(&token)
                .json(&json!({ "items": items }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let first = push(json!([item.clone()])).await;
    assert_eq!(first["results"][0]["status"], "created", "{first}");
    // The same push again (the answer was lost): nothing duplicated.
    let again = push(json!([item])).await;
    assert_eq!(again["results"][0]["status"], "unchanged", "{again}");
    let session = w
        .app
        .get_json(&w.officer, &format!("/api/v1/training-sessions/{id}"))
        .await;
    assert_eq!(session["attachment_count"], 1);
    let listed = w
        .app
        .get_json(
            &w.officer,
            &format!("/api/v1/training-sessions?team_id={}", w.team),
        )
        .await;
    let mine = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.to_string())
        .unwrap();
    assert_eq!(mine["attachment_count"], 1);
    let attachments = w
        .app
        .get_json(
            &w.officer,
            &format!("/api/v1/training-sessions/{id}/attachments"),
        )
        .await;
    assert_eq!(attachments["items"].as_array().unwrap().len(), 1);
    assert_eq!(attachments["items"][0]["kind"], "attendance_sheet");
    // An upload that is not finished rejects the item, record included.
    let unfinished = create(&w.app, &w.leader, 1000, "x.jpg").await;
    let other = uuid::Uuid::now_v7();
    let rejected = push(json!([{
        "type": "training_session", "op": "upsert", "id": other, "base_version": null,
        "data": {"team_id": w.team, "kind": "training", "held_on": day, "duration_minutes": 60,
                 "format": "in_person", "topics": ["vneid"], "participants_total": 5,
                 "participants_female": 2, "participants_ethnic_minority": 5, "participants_elderly": 0,
                 "households_reached": 3},
        "attachments": [{"upload_id": unfinished.rsplit('/').next().unwrap(), "kind": "photo"}]
    }]))
    .await;
    assert_eq!(rejected["results"][0]["status"], "rejected", "{rejected}");
    let missing = w
        .app
        .request(Method::GET, &format!("/api/v1/training-sessions/{other}"))
        .bearer_auth(&w.officer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "the record was not stored without its attachment"
    );

    // Another phone of the team pulls: the session with its attachment's metadata, never the bytes.
    let pulled = w
        .app
        .get_json(&w.leader, "/api/v1/sync/pull?limit=500")
        .await;
    let item = pulled["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.to_string())
        .unwrap();
    assert_eq!(item["data"]["attachment_count"], 1);
    let pulled_attachment = &item["data"]["attachments"][0];
    assert_eq!(pulled_attachment["kind"], "attendance_sheet");
    assert_eq!(pulled_attachment["content_visible"], true);
    assert!(pulled_attachment["links"]["download"].is_string());
    // An attachment added later puts the record back in the feed.
    let cursor = pulled["next_cursor"].as_str().unwrap().to_owned();
    let photo = upload(&w.app, &w.leader, &jpeg(200, 200), "anh.jpg").await;
    assert_eq!(
        attach(&w.app, &w.leader, id, &photo, "photo")
            .await
            .status(),
        201
    );
    let later = w
        .app
        .get_json(&w.leader, &format!("/api/v1/sync/pull?cursor={cursor}"))
        .await;
    let changed = later["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.to_string())
        .expect("the session is in the feed again");
    assert_eq!(changed["data"]["attachments"].as_array().unwrap().len(), 2);

    // The summary counts the sessions that carry an attendance sheet.
    let commune = w.app.unit_id("son-la.xa-van-ho");
    let summary = w
        .app
        .get_json(
            &w.admin,
            &format!("/api/v1/reports/summary?org_unit_id={commune}&from={day}&to={day}"),
        )
        .await;
    assert_eq!(summary["sessions"]["with_attendance_sheet"], 1, "{summary}");
}

#[actix_web::test]
async fn erasing_a_person_may_delete_the_attachments_by_or_about_them() {
    let w = world().await;
    // A trainer of the session, who has left the team.
    let (membership, person) = w.app.add_member(w.team, "Lò Văn Thắng", None, "member");
    diesel::sql_query(format!(
        "UPDATE training_sessions SET trainers = ARRAY['{membership}']::uuid[] WHERE id = '{}'",
        w.session
    ))
    .execute(&mut w.app.database.connect())
    .unwrap();
    let id = upload(&w.app, &w.leader, &jpeg(120, 90), "lop-hoc.jpg").await;
    let attachment: serde_json::Value = attach(&w.app, &w.leader, w.session, &id, "photo")
        .await
        .json()
        .await
        .unwrap();
    diesel::sql_query(format!(
        "UPDATE memberships SET left_on = current_date - 1 WHERE id = '{membership}'"
    ))
    .execute(&mut w.app.database.connect())
    .unwrap();
    let erase = |query: &'static str| {
        w.app
            .request(
                Method::DELETE,
                &format!("/api/v1/people/{person}/personal-data{query}"),
            )
            .bearer_auth(&w.admin)
            .send()
    };
    // Kept by default.
    assert_eq!(erase("").await.unwrap().status(), 204);
    let still = w
        .app
        .get_json(
            &w.admin,
            &format!("/api/v1/attachments/{}", attachment["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(still["kind"], "photo");
    let bad = erase("?attachments=maybe").await.unwrap();
    assert_eq!(problem(bad, 422).await["errors"][0]["field"], "attachments");
    // On request, the photo of the session they ran goes at once.
    assert_eq!(erase("?attachments=delete").await.unwrap().status(), 204);
    let gone = download(
        &w.app,
        &w.admin,
        &format!("/api/v1/attachments/{}", attachment["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(gone.status(), 404);
    let left: i64 = cdt_api::db::schema::attachments::table
        .count()
        .get_result(&mut w.app.database.connect())
        .unwrap();
    assert_eq!(left, 0);
}
