//! Files for officials: every XLSX the server writes is opened with an independent reader (calamine, not
//! the writer's crate) and checked for sheets, headers, cell types, Vietnamese text and row counts; a file
//! holds the whole filtered list; `Accept` is honoured by quality and order.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use reqwest::Method;

use crate::helpers::TestApp;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The sheets of a workbook, in order, each as rows of cells.
pub fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    workbook
        .sheet_names()
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).unwrap();
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(text) => text.clone(),
        other => panic!("expected text, found {other:?}"),
    }
}

fn number(cell: &Data) -> f64 {
    match cell {
        Data::Float(number) => *number,
        Data::Int(number) => *number as f64,
        other => panic!("expected a number, found {other:?}"),
    }
}

fn date(cell: &Data) -> chrono::NaiveDate {
    match cell {
        Data::DateTime(value) => value.as_datetime().unwrap().date(),
        other => panic!("expected a date, found {other:?}"),
    }
}

/// `GET path` with `headers`: the status, content type and body.
async fn get(
    app: &TestApp,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>, reqwest::header::HeaderMap) {
    let mut request = app.request(Method::GET, path).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
        headers,
    )
}

#[actix_web::test]
async fn a_team_list_is_one_typed_xlsx_or_csv_file_whatever_its_length() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let unit = app.unit_id("son-la.xa-chieng-mung");
    for n in 0..60 {
        app.create_team(&format!("CM-{n:03}"), unit);
    }
    let first = app.create_team("CM-000-A", unit);
    app.add_member(first, "Lò Thị Hoa", Some("+84912000111"), "leader");

    // XLSX: the whole list (past the JSON default of 50), Vietnamese headers and labels, typed cells.
    let (status, content_type, body, headers) =
        get(&app, &admin, "/api/v1/teams?format=xlsx", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, XLSX);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"teams.xlsx\""
    );
    assert!(headers.get("x-next-cursor").is_none());
    let workbook = sheets(&body);
    let names: Vec<&str> = workbook.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["Tổ CNSCĐ", "Thông tin"]);
    let rows = &workbook[0].1;
    assert_eq!(rows.len(), 62, "header and 61 teams");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        &header[..6],
        [
            "Mã tổ",
            "Tên tổ",
            "Đơn vị",
            "Mã đơn vị",
            "Cấp",
            "Trạng thái"
        ]
    );
    assert_eq!(header.len(), 13);
    let led = rows
        .iter()
        .find(|row| row[0] == Data::String("CM-000-A".into()))
        .unwrap();
    assert_eq!(text(&led[1]), "Tổ công nghệ số CM-000-A");
    assert_eq!(text(&led[2]), "Chiềng Mung");
    assert_eq!(text(&led[4]), "Xã, phường", "levels by their labels");
    assert_eq!(text(&led[5]), "Đang hoạt động", "statuses by their labels");
    assert_eq!(
        date(&led[6]),
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
    );
    assert_eq!(led[7], Data::Empty);
    assert_eq!(text(&led[11]), "Lò Thị Hoa");
    // The sheet saying what the file holds.
    let about = &workbook[1].1;
    let about_text: Vec<String> = about
        .iter()
        .flatten()
        .filter_map(|cell| match cell {
            Data::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(about_text.contains(&"Danh sách tổ công nghệ số cộng đồng".to_owned()));
    assert!(about_text.contains(&"admin".to_owned()));
    let count_row = about
        .iter()
        .find(|row| matches!(&row[0], Data::String(t) if t.starts_with("Số dòng")))
        .unwrap();
    assert_eq!(number(&count_row[1]), 61.0);

    // English on request.
    let (_, _, body, _) = get(
        &app,
        &admin,
        "/api/v1/teams?format=xlsx&q=CM-000-A",
        &[("Accept-Language", "en")],
    )
    .await;
    let workbook = sheets(&body);
    assert_eq!(workbook[0].0, "Teams");
    assert_eq!(workbook[1].0, "About");
    assert_eq!(text(&workbook[0].1[0][0]), "Team code");
    assert_eq!(workbook[0].1.len(), 2, "the filter applies to the file");
    assert_eq!(text(&workbook[0].1[1][5]), "Active");

    // CSV: the whole list too, in the import format; a page only when asked for.
    let (status, content_type, body, _) =
        get(&app, &admin, "/api/v1/teams", &[("Accept", "text/csv")]).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"));
    let csv = String::from_utf8(body).unwrap();
    assert!(
        csv.starts_with("\u{feff}code,name,org_unit_name,org_unit_code,level,status,founded_on")
    );
    assert_eq!(csv.lines().count(), 62);
    assert!(csv.contains("CM-000-A,Tổ công nghệ số CM-000-A,Chiềng Mung,son-la.xa-chieng-mung,commune,active,2025-07-01"));
    let (_, _, body, headers) = get(
        &app,
        &admin,
        "/api/v1/teams?limit=25",
        &[("Accept", "text/csv")],
    )
    .await;
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 26);
    let cursor = headers["x-next-cursor"].to_str().unwrap().to_owned();
    let (_, _, body, _) = get(
        &app,
        &admin,
        &format!("/api/v1/teams?limit=25&cursor={cursor}&format=xlsx"),
        &[],
    )
    .await;
    let second = sheets(&body);
    assert_eq!(second[0].1.len(), 26);
    assert_eq!(text(&second[0].1[1][0]), "CM-024");

    // JSON keeps its pages.
    let page = app.get_json(&admin, "/api/v1/teams").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
}

#[actix_web::test]
async fn accept_is_honoured_by_quality_and_order() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    app.create_team("CM-1", app.unit_id("son-la.xa-chieng-mung"));
    let cases: [(&str, u16, &str); 11] = [
        ("text/csv;q=0, */*", 200, "application/json"),
        (
            "text/csv;q=0.5, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            200,
            XLSX,
        ),
        ("application/json;q=0.1, text/csv", 200, "text/csv"),
        ("text/csv, application/json", 200, "text/csv"),
        ("application/json, text/csv", 200, "application/json"),
        ("text/*", 200, "text/csv"),
        ("*/*", 200, "application/json"),
        ("application/json;q=0, text/csv;q=0, */*;q=0.1", 200, XLSX),
        ("text/csv;q=0", 406, "application/problem+json"),
        ("image/png", 406, "application/problem+json"),
        (
            "application/json;q=0, */*;q=0",
            406,
            "application/problem+json",
        ),
    ];
    for (accept, status, media) in cases {
        let (got, content_type, _, _) =
            get(&app, &admin, "/api/v1/teams", &[("Accept", accept)]).await;
        assert_eq!(got, status, "{accept}");
        assert!(content_type.starts_with(media), "{accept}: {content_type}");
    }
    // `format` overrides `Accept`; an unknown format names the field.
    let (status, content_type, _, _) = get(
        &app,
        &admin,
        "/api/v1/teams?format=csv",
        &[("Accept", "application/json")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"));
    let response = app
        .request(Method::GET, "/api/v1/teams?format=pdf")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "format");
    // The workbook is XLSX only.
    for (path, accept) in [
        ("/api/v1/reports/workbook", "text/csv"),
        ("/api/v1/reports/workbook?format=csv", "*/*"),
        ("/api/v1/reports/workbook", "application/json"),
    ] {
        let (status, content_type, _, _) = get(&app, &admin, path, &[("Accept", accept)]).await;
        assert_eq!(status, 406, "{path} {accept}");
        assert!(content_type.starts_with("application/problem+json"));
    }
}

#[actix_web::test]
async fn a_commune_report_is_one_workbook_that_agrees_with_the_json_reports() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let admin_id = app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let commune = app.unit_id("son-la.xa-chieng-mung");
    let teams = [
        app.create_team("CM-1", commune),
        app.create_team("CM-2", commune),
    ];
    for team in teams {
        app.create_session(team, admin_id);
    }
    app.create_session(teams[0], admin_id);
    let today = chrono::Utc::now().date_naive();
    let options = format!("org_unit_id={commune}&from=2025-07-01&to={today}");
    let summary = app
        .get_json(&admin, &format!("/api/v1/reports/summary?{options}"))
        .await;
    let by_team = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/breakdown?by=team&{options}"),
        )
        .await;

    let (status, content_type, body, headers) = get(
        &app,
        &admin,
        &format!("/api/v1/reports/workbook?{options}"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, XLSX);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("report-son-la.xa-chieng-mung-2025-07-01-")
    );
    let workbook = sheets(&body);
    let names: Vec<&str> = workbook.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Tổng hợp",
            "Theo đơn vị trực thuộc",
            "Theo tổ",
            "Theo chủ đề",
            "Theo kênh tuyên truyền",
            "Theo chiến dịch",
            "Theo tháng",
            "Tiến độ chỉ tiêu",
            "Thông tin"
        ]
    );
    // The summary sheet: one labelled, typed figure per row, equal to the JSON summary.
    let figure = |label: &str| {
        workbook[0]
            .1
            .iter()
            .find(|row| row[0] == Data::String(label.to_owned()))
            .unwrap_or_else(|| panic!("{label}"))[1]
            .clone()
    };
    assert_eq!(text(&figure("Đơn vị")), "Chiềng Mung");
    assert_eq!(
        date(&figure("Từ ngày")),
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
    );
    assert_eq!(
        number(&figure("Buổi sinh hoạt")),
        summary["sessions"]["total"].as_f64().unwrap()
    );
    assert_eq!(number(&figure("Buổi sinh hoạt")), 3.0);
    assert_eq!(number(&figure("Người tham dự")), 60.0);
    assert_eq!(number(&figure("Tổng số tổ")), 2.0);
    // The team breakdown: a row per team and a totals row equal to the JSON's totals.
    let team_sheet = &workbook[2].1;
    assert_eq!(text(&team_sheet[0][0]), "Khoá");
    assert_eq!(text(&team_sheet[0][3]), "Buổi sinh hoạt");
    assert_eq!(
        team_sheet.len(),
        1 + by_team["rows"].as_array().unwrap().len() + 1
    );
    let totals = team_sheet.last().unwrap();
    assert_eq!(text(&totals[0]), "Tổng cộng");
    assert_eq!(
        number(&totals[3]),
        by_team["totals"]["sessions"].as_f64().unwrap()
    );
    assert_eq!(number(&totals[7]), 60.0);
    let cm1 = team_sheet
        .iter()
        .find(|row| row[2] == Data::String("CM-1".into()))
        .unwrap();
    assert_eq!(number(&cm1[3]), 2.0);
    // Months: every month of the period, zeros included, summing to the totals.
    let months = &workbook[6].1;
    let sessions: f64 = months[1..months.len() - 1]
        .iter()
        .map(|row| number(&row[3]))
        .sum();
    assert_eq!(sessions, 3.0);
    // The about sheet names the unit and the period.
    let about: Vec<String> = workbook[8]
        .1
        .iter()
        .flatten()
        .filter_map(|cell| match cell {
            Data::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(about.contains(&"Báo cáo tổng hợp".to_owned()));
    assert!(about.contains(&"Chiềng Mung (son-la.xa-chieng-mung)".to_owned()));

    // Each report alone, as XLSX: the summary's verified share is a percentage cell (a fraction).
    let (_, _, body, _) = get(
        &app,
        &admin,
        &format!("/api/v1/reports/summary?{options}&format=xlsx"),
        &[("Accept-Language", "en")],
    )
    .await;
    let workbook = sheets(&body);
    assert_eq!(workbook[0].0, "Summary");
    let share = workbook[0]
        .1
        .iter()
        .find(|row| row[0] == Data::String("Share verified".into()))
        .unwrap();
    assert_eq!(number(&share[1]), 0.0);
    let (_, _, body, _) = get(
        &app,
        &admin,
        &format!("/api/v1/reports/targets?{options}&format=xlsx"),
        &[],
    )
    .await;
    assert_eq!(sheets(&body)[0].0, "Tiến độ chỉ tiêu");
    let (_, _, body, _) = get(
        &app,
        &admin,
        &format!("/api/v1/reports/dormant-teams?org_unit_id={commune}&format=xlsx"),
        &[],
    )
    .await;
    assert_eq!(text(&sheets(&body)[0].1[0][0]), "Mã tổ");
}

#[actix_web::test]
async fn session_and_people_lists_write_dates_labels_and_counts_as_typed_cells() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let admin_id = app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let team = app.create_team("CM-1", app.unit_id("son-la.xa-chieng-mung"));
    app.add_member(team, "Cầm Thị Lan", Some("+84912000222"), "leader");
    for _ in 0..3 {
        app.create_session(team, admin_id);
    }
    let (status, _, body, _) =
        get(&app, &admin, "/api/v1/training-sessions?format=xlsx", &[]).await;
    assert_eq!(status, 200);
    let workbook = sheets(&body);
    assert_eq!(workbook[0].0, "Buổi sinh hoạt");
    let rows = &workbook[0].1;
    assert_eq!(rows.len(), 4);
    let header: Vec<String> = rows[0].iter().map(text).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let session = &rows[1];
    assert_eq!(
        date(&session[column("Ngày tổ chức")]),
        chrono::Utc::now().date_naive() - chrono::Duration::days(1)
    );
    assert_eq!(text(&session[column("Loại")]), "Tập huấn");
    assert_eq!(text(&session[column("Chủ đề")]), "Ứng dụng VNeID");
    assert_eq!(number(&session[column("Người tham dự")]), 20.0);
    assert_eq!(text(&session[column("Trạng thái")]), "Chờ xác minh");

    // Pages of sessions held on one day follow the id order without loss or repetition (the keyset is a
    // row comparison).
    let first = app
        .get_json(&admin, "/api/v1/training-sessions?limit=2")
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_json(
            &admin,
            &format!("/api/v1/training-sessions?limit=2&cursor={cursor}"),
        )
        .await;
    assert!(second["next_cursor"].is_null());
    let mut ids: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let (_, _, body, headers) = get(
        &app,
        &admin,
        "/api/v1/training-sessions?limit=2&format=csv",
        &[],
    )
    .await;
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 3);
    assert_eq!(headers["x-next-cursor"].to_str().unwrap(), cursor);

    // People: an admin sees the phone in full, and reading it is logged like the JSON list.
    let (status, _, body, _) = get(&app, &admin, "/api/v1/people?format=xlsx", &[]).await;
    assert_eq!(status, 200);
    let people = &sheets(&body)[0].1;
    assert_eq!(people.len(), 2);
    assert_eq!(text(&people[1][1]), "Cầm Thị Lan");
    assert_eq!(text(&people[1][2]), "+84912000222");
    assert_eq!(text(&people[1][3]), "Nữ");
    assert_eq!(people[1][7], Data::Bool(false));
    let reads = app.get_json(&admin, "/api/v1/personal-data-reads").await;
    assert_eq!(reads["items"].as_array().unwrap().len(), 1);
}

/// `POST /api/v1/imports/{what}{query}` with a body of `content_type`; asserts 200 and returns the summary.
async fn import(
    app: &TestApp,
    token: &str,
    what: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> serde_json::Value {
    let response = app
        .request(Method::POST, &format!("/api/v1/imports/{what}{query}"))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Text as Windows-1258 writes it: a tone mark after its letter (the letter precomposed with its
/// circumflex, breve or horn where the code page has it).
fn to_windows_1258(text: &str) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];
    let mut written = String::new();
    for c in text.chars() {
        let parts: String = c.to_string().nfd().collect();
        let letter: String = parts.chars().filter(|c| !TONES.contains(c)).collect();
        written.extend(letter.nfc());
        written.extend(parts.chars().filter(|c| TONES.contains(c)));
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(&written);
    assert!(!unmappable, "{text}");
    bytes.into_owned()
}

/// An XLSX file of `rows` (the first is the header) written by a spreadsheet library, as Excel saves one.
fn xlsx_of(rows: &[Vec<Data>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r).unwrap(), u16::try_from(c).unwrap());
            match cell {
                Data::String(text) => {
                    sheet.write_string(r, c, text).unwrap();
                }
                Data::Float(number) => {
                    sheet.write_number(r, c, *number).unwrap();
                }
                Data::Int(number) => {
                    sheet.write_number(r, c, *number as f64).unwrap();
                }
                Data::Bool(value) => {
                    sheet.write_boolean(r, c, *value).unwrap();
                }
                Data::DateTime(at) => {
                    let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
                    sheet
                        .write_datetime_with_format(r, c, at.as_datetime().unwrap(), &format)
                        .unwrap();
                }
                _ => {}
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A date cell.
fn excel_date(day: chrono::NaiveDate) -> Data {
    let serial = (day - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
    Data::DateTime(calamine::ExcelDateTime::new(
        serial as f64,
        calamine::ExcelDateTimeType::DateTime,
        false,
    ))
}

const TEAM_ROWS: &str = "code,name,org_unit_name,org_unit_code,level,status,founded_on,zalo_group_members,zalo_group_members_as_of,notes
VH-001,Tổ công nghệ số xã Vân Hồ,Vân Hồ,son-la.xa-van-ho,commune,active,2022-09-15,,,Đường khó đi mùa mưa
VH-002,Tổ công nghệ số bản Bó Nhàng,Bản Bó Nhàng,son-la.xa-van-ho.ban-bo-nhang,village,active,2022-10-01,86,2025-06-01,
CM-001,Tổ công nghệ số xã Chiềng Mung,Chiềng Mung,son-la.xa-chieng-mung,commune,inactive,,,,Người Thái, Mông
BAD-1,,Không có,son-la.khong-co,commune,active,2023-02-30,nhiều,,
";

#[actix_web::test]
async fn xlsx_utf16_and_windows_1258_imports_match_the_utf8_csv_of_the_same_rows() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    // The note of CM-001 holds a comma: quote it in every CSV.
    let utf8 = TEAM_ROWS.replace("Người Thái, Mông", "\"Người Thái, Mông\"");
    let reference = import(
        &app,
        &admin,
        "teams",
        "?dry_run=true&mode=per_row",
        "text/csv",
        utf8.clone().into_bytes(),
    )
    .await;
    assert_eq!(reference["created"], 3, "{reference}");
    assert_eq!(
        reference["errors"].as_array().unwrap().len(),
        4,
        "{reference}"
    );
    assert_eq!(reference["units_created"], 1);
    let bad: Vec<(u64, &str)> = reference["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert!(bad.contains(&(5, "founded_on")), "{bad:?}");
    assert!(bad.contains(&(5, "zalo_group_members")), "{bad:?}");
    assert!(reference["errors"][0]["column_letter"].as_str().is_some());

    // Excel's "Unicode text": UTF-16 little-endian with a BOM, tab-separated.
    let tabbed = TEAM_ROWS
        .replace(',', "\t")
        .replace("Người Thái\t Mông", "Người Thái, Mông");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(tabbed.encode_utf16().flat_map(u16::to_le_bytes));
    let from_utf16 = import(
        &app,
        &admin,
        "teams",
        "?dry_run=true&mode=per_row",
        "text/plain",
        utf16,
    )
    .await;
    // Older Excel's "CSV" in a Vietnamese Windows: Windows-1258, with and without the charset named.
    let cp1258 = to_windows_1258(&utf8);
    assert!(std::str::from_utf8(&cp1258).is_err());
    let from_1258 = import(
        &app,
        &admin,
        "teams",
        "?dry_run=true&mode=per_row",
        "text/csv",
        cp1258.clone(),
    )
    .await;
    let named = import(
        &app,
        &admin,
        "teams",
        "?dry_run=true&mode=per_row",
        "text/csv; charset=windows-1258",
        cp1258.clone(),
    )
    .await;
    // XLSX with the Vietnamese headers of the template, dates as dates and counts as numbers.
    let mut rows: Vec<Vec<Data>> = vec![
        [
            "Mã tổ",
            "Tên tổ",
            "Đơn vị",
            "Mã đơn vị",
            "Cấp",
            "Trạng thái",
            "Ngày thành lập",
            "Thành viên nhóm Zalo",
            "Số liệu Zalo tính đến",
            "Ghi chú",
        ]
        .iter()
        .map(|h| Data::String((*h).to_owned()))
        .collect(),
    ];
    let mut reader = csv::Reader::from_reader(utf8.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        rows.push(
            record
                .iter()
                .enumerate()
                .map(|(index, cell)| match (index, cell) {
                    (_, "") => Data::Empty,
                    (6 | 8, day) if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok() => {
                        excel_date(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap())
                    }
                    (7, count) if count.parse::<f64>().is_ok() => {
                        Data::Float(count.parse().unwrap())
                    }
                    // Labels instead of codes, as the export writes them.
                    (4, "commune") => Data::String("Xã, phường".to_owned()),
                    (5, "inactive") => Data::String("Tạm ngừng".to_owned()),
                    (_, text) => Data::String(text.to_owned()),
                })
                .collect(),
        );
    }
    let from_xlsx = import(
        &app,
        &admin,
        "teams",
        "?dry_run=true&mode=per_row",
        XLSX,
        xlsx_of(&rows),
    )
    .await;

    let outcome = |summary: &serde_json::Value| {
        let errors: Vec<(u64, String, String)> = summary["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["row"].as_u64().unwrap(),
                    e["column"].as_str().unwrap_or("").to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (
            summary["created"].clone(),
            summary["units_created"].clone(),
            errors,
        )
    };
    for (what, summary) in [
        ("UTF-16", &from_utf16),
        ("Windows-1258", &from_1258),
        ("Windows-1258 named", &named),
        ("XLSX", &from_xlsx),
    ] {
        assert_eq!(outcome(summary), outcome(&reference), "{what}: {summary}");
    }
    // XLSX errors name the column as the spreadsheet shows it.
    let founded = from_xlsx["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["column"] == "founded_on")
        .unwrap();
    assert_eq!(founded["column_letter"], "G");
    assert_eq!(founded["header"], "Ngày thành lập");

    // Written for real from Windows-1258, per row: the names are the same Unicode text as the UTF-8 file.
    let written = import(&app, &admin, "teams", "?mode=per_row", "text/csv", cp1258).await;
    assert_eq!(written["created"], 3, "{written}");
    let teams = app.get_json(&admin, "/api/v1/teams?q=bo nhang").await;
    assert_eq!(teams["items"][0]["name"], "Tổ công nghệ số bản Bó Nhàng");
    let chieng_mung = app.get_json(&admin, "/api/v1/teams?q=chieng mung").await;
    assert_eq!(chieng_mung["items"][0]["notes"], "Người Thái, Mông");
    assert_eq!(chieng_mung["items"][0]["status"], "inactive");

    // A file whose encoding cannot be told is a clear 422; so is a sheet the workbook lacks.
    let response = app
        .request(Method::POST, "/api/v1/imports/teams")
        .bearer_auth(&admin)
        .header("Content-Type", "text/csv")
        .body(vec![b'c', b'o', b'd', b'e', b'\n', 0x81, 0x01, 0x9F])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["code"], "unknown_encoding");
    let response = app
        .request(Method::POST, "/api/v1/imports/teams?sheet=Tổ")
        .bearer_auth(&admin)
        .header("Content-Type", XLSX)
        .body(xlsx_of(&rows))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "sheet");
}

#[actix_web::test]
async fn an_exported_team_or_member_workbook_edited_in_a_spreadsheet_changes_only_the_edited_rows()
{
    let app = TestApp::spawn().await;
    app.seed_son_la();
    app.create_user("admin", "admin", None);
    let admin = app.token("admin").await;
    let csv = TEAM_ROWS.replace("Người Thái, Mông", "\"Người Thái, Mông\"");
    let first = import(
        &app,
        &admin,
        "teams",
        "?mode=per_row",
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(first["created"], 3, "{first}");
    let team_by_code = |list: serde_json::Value, code: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|team| team["code"] == code)
            .cloned()
            .unwrap()
    };
    let teams = app.get_json(&admin, "/api/v1/teams").await;
    let team = team_by_code(teams, "VH-002")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = "team_code,full_name,phone,gender,birth_year,ethnicity,affiliation,role,joined_on
VH-002,Lò Văn Minh,0912345678,male,1985,thai,village_head,leader,2025-07-01
VH-002,Hà Thị Hoa,0987654321,female,1999,muong,youth_union,member,2025-07-01
";
    let added = import(
        &app,
        &admin,
        "members",
        "",
        "text/csv",
        members.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(added["created"], 2, "{added}");

    // Teams: export, re-import unchanged, then edit two rows and re-import.
    let (_, _, body, _) = get(&app, &admin, "/api/v1/teams?format=xlsx", &[]).await;
    let exported = sheets(&body)[0].1.clone();
    let same = import(&app, &admin, "teams", "", XLSX, xlsx_of(&exported)).await;
    assert_eq!(
        (
            same["created"].as_u64(),
            same["updated"].as_u64(),
            same["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3)),
        "{same}"
    );
    let mut edited = exported.clone();
    let header: Vec<String> = edited[0].iter().map(text).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row_of = |code: &str| {
        edited
            .iter()
            .position(|row| row[0] == Data::String(code.into()))
            .unwrap()
    };
    let (vh1, cm1) = (row_of("VH-001"), row_of("CM-001"));
    edited[vh1][column("Thành viên nhóm Zalo")] = Data::Float(120.0);
    edited[vh1][column("Số liệu Zalo tính đến")] =
        excel_date(chrono::NaiveDate::from_ymd_opt(2025, 11, 1).unwrap());
    edited[cm1][column("Trạng thái")] = Data::String("Đang hoạt động".into());
    let changed = import(&app, &admin, "teams", "", XLSX, xlsx_of(&edited)).await;
    assert_eq!(
        (changed["updated"].as_u64(), changed["unchanged"].as_u64()),
        (Some(2), Some(1)),
        "{changed}"
    );
    let teams = app.get_json(&admin, "/api/v1/teams").await;
    assert_eq!(
        team_by_code(teams.clone(), "VH-001")["zalo_group_members"],
        120
    );
    let cm = team_by_code(teams, "CM-001");
    assert_eq!(cm["status"], "active");
    assert_eq!(cm["notes"], "Người Thái, Mông");

    // Members: the same, with labels for gender, ethnic group, affiliation and role.
    let (_, _, body, _) = get(
        &app,
        &admin,
        &format!("/api/v1/teams/{team}/members?format=xlsx"),
        &[],
    )
    .await;
    let exported = sheets(&body)[0].1.clone();
    assert_eq!(text(&exported[1][7]), "Tổ trưởng");
    let same = import(&app, &admin, "members", "", XLSX, xlsx_of(&exported)).await;
    assert_eq!(
        (same["created"].as_u64(), same["updated"].as_u64()),
        (Some(0), Some(0)),
        "{same}"
    );
    let mut edited = exported.clone();
    let hoa = edited
        .iter()
        .position(|row| row[1] == Data::String("Hà Thị Hoa".into()))
        .unwrap();
    edited[hoa][4] = Data::Float(1998.0);
    let changed = import(&app, &admin, "members", "", XLSX, xlsx_of(&edited)).await;
    assert_eq!(changed["updated"], 1, "{changed}");
    assert!(changed["errors"].as_array().unwrap().is_empty());
    let people = app.get_json(&admin, "/api/v1/people?q=Hoa").await;
    assert_eq!(people["items"][0]["birth_year"], 1998);
}

/// The list validations of the first sheet: column letter -> the formula of its list.
fn list_validations(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut xml = String::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let block = regex::Regex::new(r"(?s)<dataValidation ([^>]*)>(.*?)</dataValidation>").unwrap();
    let attribute = |attributes: &str, name: &str| {
        regex::Regex::new(&format!(r#"{name}="([^"]*)""#))
            .unwrap()
            .captures(attributes)
            .map(|c| c[1].to_owned())
    };
    let formula = regex::Regex::new(r"<formula1>(.*?)</formula1>").unwrap();
    block
        .captures_iter(&xml)
        .filter(|c| attribute(&c[1], "type").as_deref() == Some("list"))
        .map(|c| {
            let range = attribute(&c[1], "sqref").unwrap();
            let column: String = range.chars().take_while(char::is_ascii_uppercase).collect();
            assert!(range.ends_with("10001"), "{range}");
            (
                column,
                formula.captures(&c[2]).unwrap()[1].replace("&apos;", "'"),
            )
        })
        .collect()
}

#[actix_web::test]
async fn an_import_template_has_drop_downs_of_exactly_the_reference_values_and_the_callers_scope() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-chieng-mung");
    app.create_user("officer", "officer", Some(commune));
    app.create_user("leader", "viewer", Some(commune));
    let officer = app.token("officer").await;
    app.create_team("CM-1", commune);
    app.create_team("CM-2", commune);
    app.create_team("VH-1", app.unit_id("son-la.xa-van-ho"));
    let reference = app.get_json(&officer, "/api/v1/reference").await;
    let labels = |list: &str| -> Vec<String> {
        reference[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|label| label["name_vi"].as_str().unwrap().to_owned())
            .collect()
    };

    let (status, content_type, body, headers) =
        get(&app, &officer, "/api/v1/imports/members/template", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, XLSX);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"template-members.xlsx\""
    );
    let workbook = sheets(&body);
    let names: Vec<&str> = workbook.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["Thành viên", "Hướng dẫn", "Danh mục"]);
    let header: Vec<String> = workbook[0].1[0].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "Mã tổ",
            "Họ và tên",
            "Số điện thoại",
            "Giới tính",
            "Năm sinh",
            "Dân tộc",
            "Thành phần",
            "Vai trò",
            "Ngày tham gia",
            "Ngày rời tổ"
        ]
    );
    // Every enumerated column has a drop-down listing exactly the reference values (and the team codes of
    // the officer's scope).
    let validations = list_validations(&body);
    let lists = &workbook[2].1;
    let list_values = |formula: &str| list_values_in(lists, formula);
    let expected = [
        ("A", vec!["CM-1".to_owned(), "CM-2".to_owned()]),
        ("D", labels("genders")),
        ("F", labels("ethnic_groups")),
        ("G", labels("affiliations")),
        ("H", labels("membership_roles")),
    ];
    assert_eq!(validations.len(), expected.len(), "{validations:?}");
    for (column, values) in expected {
        let formula = &validations[column];
        assert!(formula.starts_with("'Danh mục'!$"), "{formula}");
        assert_eq!(list_values(formula), values, "column {column}");
    }
    // The instructions are in Vietnamese and name the required column.
    let help: Vec<String> = workbook[1]
        .1
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Data::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(help.contains(&"Mẫu nhập thành viên tổ công nghệ số cộng đồng".to_owned()));
    assert!(
        help.iter()
            .any(|line| line.contains("/api/v1/imports/members"))
    );

    // A filled template imports (the drop-down labels are read back as codes).
    let mut filled = workbook[0].1[..1].to_vec();
    filled.push(vec![
        Data::String("CM-2".into()),
        Data::String("Quàng Văn Pọm".into()),
        Data::Float(912_345_679.0),
        Data::String("Nam".into()),
        Data::Float(1980.0),
        Data::String("Thái".into()),
        Data::String(labels("affiliations")[0].clone()),
        Data::String("Tổ trưởng".into()),
        excel_date(chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()),
        Data::Empty,
    ]);
    let imported = import(&app, &officer, "members", "", XLSX, xlsx_of(&filled)).await;
    assert_eq!(imported["created"], 1, "{imported}");
    let people = app.get_json(&officer, "/api/v1/people?q=Pom").await;
    assert_eq!(
        people["items"][0]["phone"], "+84912345679",
        "a number typed without its 0"
    );
    assert_eq!(people["items"][0]["gender"], "male");

    // Teams: unit codes of the scope (communes and villages in force), English on request.
    let (_, _, body, _) = get(
        &app,
        &officer,
        "/api/v1/imports/teams/template",
        &[("Accept-Language", "en")],
    )
    .await;
    let workbook = sheets(&body);
    assert_eq!(workbook[0].0, "Teams");
    assert_eq!(text(&workbook[0].1[0][0]), "Team code");
    let validations = list_validations(&body);
    let units = list_values_in(&workbook[2].1, &validations["D"]);
    assert!(units.contains(&"son-la.xa-chieng-mung".to_owned()));
    assert!(
        units
            .iter()
            .all(|code| code.starts_with("son-la.xa-chieng-mung")),
        "{units:?}"
    );
    let statuses = list_values_in(&workbook[2].1, &validations["G"]);
    assert_eq!(statuses, ["Active", "Inactive", "Dissolved"]);

    // Viewers cannot import, so they get no template; an unknown import is 404.
    let viewer = app.token("leader").await;
    let (status, _, _, _) = get(&app, &viewer, "/api/v1/imports/members/template", &[]).await;
    assert_eq!(status, 403);
    let (status, _, _, _) = get(&app, &officer, "/api/v1/imports/people/template", &[]).await;
    assert_eq!(status, 404);
}

/// The values of a list sheet's column that `formula` (`'Lists'!$B$2:$B$5`) points at.
fn list_values_in(lists: &[Vec<Data>], formula: &str) -> Vec<String> {
    let column = formula.split('$').nth(1).unwrap();
    let index = column
        .chars()
        .fold(0, |n, c| n * 26 + (c as usize - 'A' as usize + 1))
        - 1;
    lists[1..]
        .iter()
        .filter_map(|row| match row.get(index) {
            Some(Data::String(text)) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// Every item of a JSON list, page after page.
async fn all_items(app: &TestApp, token: &str, path: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page = match &cursor {
            Some(cursor) => format!("{path}{separator}limit=500&cursor={cursor}"),
            None => format!("{path}{separator}limit=500"),
        };
        let body = app.get_json(token, &page).await;
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

#[actix_web::test]
async fn every_list_and_report_file_has_its_documented_headers_and_the_rows_its_json_has() {
    let app = TestApp::spawn().await;
    let hashing = cdt_api::auth::password::PasswordHashing::new(
        cdt_api::config::PasswordHashCost {
            memory_kib: 1024,
            iterations: 1,
        },
        1,
    )
    .unwrap();
    cdt_api::seed::demo::load(&mut app.database.connect(), &hashing).unwrap();
    let response = app
        .request(Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"username": "demo.admin", "password": cdt_api::seed::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    let admin = response.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let commune = app.unit_id("son-la.xa-chieng-mung");
    let team = app
        .get_json(
            &admin,
            &format!("/api/v1/teams?org_unit_id={commune}&limit=1"),
        )
        .await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let campaign = app.get_json(&admin, "/api/v1/campaigns?limit=1").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let month = chrono::Utc::now().date_naive() - chrono::Duration::days(40);
    let (from, to) = (month.format("%Y-%m-01"), month.format("%Y-%m-28"));
    let lists = [
        ("list_teams", "/api/v1/teams".to_owned()),
        (
            "list_team_members",
            format!("/api/v1/teams/{team}/members?include_past=true"),
        ),
        ("list_people", "/api/v1/people".to_owned()),
        (
            "list_training_sessions",
            format!("/api/v1/training-sessions?org_unit_id={commune}&from={from}&to={to}"),
        ),
        (
            "list_reach_activities",
            format!("/api/v1/campaigns/{campaign}/reach-activities?org_unit_id={commune}"),
        ),
        (
            "list_all_reach_activities",
            format!("/api/v1/reach-activities?org_unit_id={commune}&from={from}&to={to}"),
        ),
        ("list_sign_offs", "/api/v1/sign-offs".to_owned()),
        (
            "list_indicator_values",
            "/api/v1/indicator-values".to_owned(),
        ),
        ("list_targets", "/api/v1/targets".to_owned()),
        ("list_audit_events", "/api/v1/audit-events".to_owned()),
    ];
    let reports = [
        (
            "report_summary",
            format!("/api/v1/reports/summary?org_unit_id={commune}"),
        ),
        (
            "report_breakdown",
            format!("/api/v1/reports/breakdown?by=team&org_unit_id={commune}"),
        ),
        ("report_targets", "/api/v1/reports/targets".to_owned()),
        (
            "report_dormant_teams",
            format!("/api/v1/reports/dormant-teams?org_unit_id={commune}"),
        ),
        (
            "get_reach_summary",
            format!("/api/v1/campaigns/{campaign}/reach-summary?group_by=channel"),
        ),
    ];
    let sheet_of = |operation: &str| {
        cdt_api::routes::export::FILE_OPERATIONS
            .iter()
            .find(|file| file.operation == operation)
            .unwrap()
            .sheet
    };
    let documented = cdt_api::routes::export::FILE_OPERATIONS.len();
    assert_eq!(
        lists.len() + reports.len() + 2,
        documented,
        "every file operation is checked here or above"
    );
    for (operation, path) in lists.iter().chain(&reports) {
        let sheet = sheet_of(operation);
        let separator = if path.contains('?') { '&' } else { '?' };
        let (status, content_type, body, _) =
            get(&app, &admin, &format!("{path}{separator}format=xlsx"), &[]).await;
        assert_eq!(status, 200, "{operation}");
        assert_eq!(content_type, XLSX, "{operation}");
        let workbook = sheets(&body);
        assert_eq!(workbook[0].0, sheet.name.0, "{operation}");
        assert_eq!(workbook.last().unwrap().0, "Thông tin", "{operation}");
        let rows = &workbook[0].1;
        let header: Vec<String> = rows[0].iter().map(text).collect();
        let expected: Vec<&str> = sheet.columns.iter().map(|c| c.vi).collect();
        assert_eq!(header, expected, "{operation}");
        let (status, _, csv, _) =
            get(&app, &admin, &format!("{path}{separator}format=csv"), &[]).await;
        assert_eq!(status, 200, "{operation}");
        let csv_rows = csv::Reader::from_reader(&csv[3..]).records().count();
        if lists.iter().any(|(name, _)| name == operation) {
            let json = all_items(&app, &admin, path).await;
            assert_eq!(
                rows.len() - 1,
                json.len(),
                "{operation}: XLSX rows = JSON items"
            );
            assert_eq!(csv_rows, json.len(), "{operation}: CSV rows = JSON items");
            if *operation == "list_teams" {
                // Three of the export's internal pages of 1,000.
                assert_eq!(json.len(), 2448);
            }
        } else {
            assert!(rows.len() > 1, "{operation} has rows");
            assert_eq!(
                csv_rows,
                rows.len() - 1,
                "{operation}: CSV rows = XLSX rows"
            );
        }
    }
}

#[actix_web::test]
async fn an_indicator_value_template_filled_in_a_spreadsheet_imports() {
    let app = TestApp::spawn().await;
    app.seed_son_la();
    let commune = app.unit_id("son-la.xa-chieng-mung");
    app.create_user("officer", "officer", Some(commune));
    let officer = app.token("officer").await;
    let (status, _, body, _) = get(
        &app,
        &officer,
        "/api/v1/imports/indicator_values/template",
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let workbook = sheets(&body);
    let validations = list_validations(&body);
    // Only the indicators national systems measure, and the units of the officer's scope.
    let indicators = list_values_in(&workbook[2].1, &validations["B"]);
    assert_eq!(
        indicators,
        [
            "Tỷ lệ hồ sơ trực tuyến (%)",
            "Tỷ lệ định danh VNeID mức 2 (%)",
            "Chỉ số chuyển đổi số (DTI)"
        ]
    );
    let units = list_values_in(&workbook[2].1, &validations["A"]);
    assert!(units.contains(&"son-la.xa-chieng-mung".to_owned()));
    assert!(!units.contains(&"son-la".to_owned()));
    let day = |d| excel_date(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
    let mut filled = workbook[0].1[..1].to_vec();
    filled.push(vec![
        Data::String("son-la.xa-chieng-mung".into()),
        Data::String(indicators[0].clone()),
        day("2025-07-01"),
        day("2025-09-30"),
        Data::Float(87.5),
        Data::String("Cổng Dịch vụ công quốc gia".into()),
        day("2025-10-05"),
    ]);
    let response = app
        .request(Method::POST, "/api/v1/indicator-values")
        .bearer_auth(&officer)
        .header("Content-Type", XLSX)
        .body(xlsx_of(&filled))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let summary: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["created"], 1, "{summary}");
    let values = app.get_json(&officer, "/api/v1/indicator-values").await;
    assert_eq!(values["items"][0]["indicator"], "online_dossier_rate_pct");
    assert_eq!(values["items"][0]["value"], 87.5);
    assert_eq!(values["items"][0]["period_end"], "2025-09-30");
}
