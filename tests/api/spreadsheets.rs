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
    (status, content_type, response.bytes().await.unwrap().to_vec(), headers)
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
    assert_eq!(&header[..6], ["Mã tổ", "Tên tổ", "Đơn vị", "Mã đơn vị", "Cấp", "Trạng thái"]);
    assert_eq!(header.len(), 13);
    let led = rows.iter().find(|row| row[0] == Data::String("CM-000-A".into())).unwrap();
    assert_eq!(text(&led[1]), "Tổ công nghệ số CM-000-A");
    assert_eq!(text(&led[2]), "Chiềng Mung");
    assert_eq!(text(&led[4]), "Xã, phường", "levels by their labels");
    assert_eq!(text(&led[5]), "Đang hoạt động", "statuses by their labels");
    assert_eq!(date(&led[6]), chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
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
    assert!(csv.starts_with("\u{feff}code,name,org_unit_name,org_unit_code,level,status,founded_on"));
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
        ("text/csv;q=0.5, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 200, XLSX),
        ("application/json;q=0.1, text/csv", 200, "text/csv"),
        ("text/csv, application/json", 200, "text/csv"),
        ("application/json, text/csv", 200, "application/json"),
        ("text/*", 200, "text/csv"),
        ("*/*", 200, "application/json"),
        ("application/json;q=0, text/csv;q=0, */*;q=0.1", 200, XLSX),
        ("text/csv;q=0", 406, "application/problem+json"),
        ("image/png", 406, "application/problem+json"),
        ("application/json;q=0, */*;q=0", 406, "application/problem+json"),
    ];
    for (accept, status, media) in cases {
        let (got, content_type, _, _) =
            get(&app, &admin, "/api/v1/teams", &[("Accept", accept)]).await;
        assert_eq!(got, status, "{accept}");
        assert!(content_type.starts_with(media), "{accept}: {content_type}");
    }
    // `format` overrides `Accept`; an unknown format names the field.
    let (status, content_type, _, _) =
        get(&app, &admin, "/api/v1/teams?format=csv", &[("Accept", "application/json")]).await;
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
        .get_json(&admin, &format!("/api/v1/reports/breakdown?by=team&{options}"))
        .await;

    let (status, content_type, body, headers) =
        get(&app, &admin, &format!("/api/v1/reports/workbook?{options}"), &[]).await;
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
    assert_eq!(date(&figure("Từ ngày")), chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
    assert_eq!(number(&figure("Buổi sinh hoạt")), summary["sessions"]["total"].as_f64().unwrap());
    assert_eq!(number(&figure("Buổi sinh hoạt")), 3.0);
    assert_eq!(number(&figure("Người tham dự")), 60.0);
    assert_eq!(number(&figure("Tổng số tổ")), 2.0);
    // The team breakdown: a row per team and a totals row equal to the JSON's totals.
    let team_sheet = &workbook[2].1;
    assert_eq!(text(&team_sheet[0][0]), "Khoá");
    assert_eq!(text(&team_sheet[0][3]), "Buổi sinh hoạt");
    assert_eq!(team_sheet.len(), 1 + by_team["rows"].as_array().unwrap().len() + 1);
    let totals = team_sheet.last().unwrap();
    assert_eq!(text(&totals[0]), "Tổng cộng");
    assert_eq!(number(&totals[3]), by_team["totals"]["sessions"].as_f64().unwrap());
    assert_eq!(number(&totals[7]), 60.0);
    let cm1 = team_sheet
        .iter()
        .find(|row| row[2] == Data::String("CM-1".into()))
        .unwrap();
    assert_eq!(number(&cm1[3]), 2.0);
    // Months: every month of the period, zeros included, summing to the totals.
    let months = &workbook[6].1;
    let sessions: f64 = months[1..months.len() - 1].iter().map(|row| number(&row[3])).sum();
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
