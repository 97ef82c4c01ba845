//! Lists and reports as files: which format a request asked for (`?format=`, else `Accept` by quality
//! and order), the whole filtered list in one file unless the client asked for a page (`limit` or
//! `cursor`), read in one snapshot and spooled to a temporary file by [`crate::tabular`], then streamed.

use std::io::Read;

use actix_web::{
    HttpRequest, HttpResponse,
    body::SizedStream,
    http::header,
    mime::Mime,
    web::{self, Bytes},
};
use diesel::PgConnection;

use crate::{
    auth::AuthUser,
    db::Db,
    domain::validation::FieldErrors,
    error::{AppError, ErrorCode, Lang, Text},
    reference::{Choice, FileFormat, check_choice},
    routes::conditional::page_limit,
    tabular::{self, About, CSV_MEDIA_TYPE, Cell, Sheet, Spool, XLSX_MEDIA_TYPE, sheets},
};

/// An operation that answers with files: its sheet, whether it offers CSV beside XLSX, and whether it is
/// a paged list (a file holds the whole list).
#[derive(Debug)]
pub struct FileOperation {
    pub operation: &'static str,
    pub sheet: &'static Sheet,
    pub csv: bool,
    pub list: bool,
}

const fn list_op(operation: &'static str, sheet: &'static Sheet) -> FileOperation {
    FileOperation {
        operation,
        sheet,
        csv: true,
        list: true,
    }
}

const fn report_op(operation: &'static str, sheet: &'static Sheet) -> FileOperation {
    FileOperation {
        operation,
        sheet,
        csv: true,
        list: false,
    }
}

/// Every operation that answers with files (the OpenAPI document describes each from this list).
pub const FILE_OPERATIONS: &[FileOperation] = &[
    list_op("list_teams", &sheets::TEAMS),
    list_op("list_team_members", &sheets::MEMBERS),
    list_op("list_training_sessions", &sheets::SESSIONS),
    list_op("list_reach_activities", &sheets::REACH_ACTIVITIES),
    list_op("list_all_reach_activities", &sheets::REACH_ACTIVITIES),
    list_op("list_sign_offs", &sheets::SIGN_OFFS),
    list_op("list_indicator_values", &sheets::INDICATOR_VALUES),
    list_op("list_people", &sheets::PEOPLE),
    list_op("list_targets", &sheets::TARGETS),
    list_op("list_audit_events", &sheets::AUDIT_EVENTS),
    report_op("report_summary", &sheets::SUMMARY),
    report_op("report_breakdown", &sheets::BREAKDOWN),
    report_op("report_targets", &sheets::TARGET_PROGRESS),
    report_op("report_dormant_teams", &sheets::DORMANT_TEAMS),
    report_op("get_reach_summary", &sheets::REACH_SUMMARY),
    FileOperation {
        operation: "report_workbook",
        sheet: &sheets::SUMMARY,
        csv: false,
        list: false,
    },
    FileOperation {
        operation: "get_import_template",
        sheet: &sheets::TEAM_IMPORT,
        csv: false,
        list: false,
    },
];

/// Rows read per statement when a whole list is exported.
const EXPORT_PAGE: i64 = 1_000;
/// Bytes read from a spool per chunk of the response.
const CHUNK: usize = 64 * 1024;

/// How a list or report answers: its format and, for files, the language of headers and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub format: FileFormat,
    pub lang: Lang,
}

impl Answer {
    /// The format of an operation offering JSON, CSV and XLSX: `format` when given (422 for another
    /// value), else the request's `Accept` by quality and order (406 is answered earlier, by
    /// [`crate::negotiation`], when it admits none). Files are in Vietnamese unless `Accept-Language`
    /// prefers English.
    pub fn of(req: &HttpRequest, format: Option<&Choice<FileFormat>>) -> Result<Self, AppError> {
        Self::among(
            req,
            format,
            &[FileFormat::Json, FileFormat::Csv, FileFormat::Xlsx],
        )
    }

    /// As [`Self::of`] for an operation offering only `offered`.
    pub fn among(
        req: &HttpRequest,
        format: Option<&Choice<FileFormat>>,
        offered: &[FileFormat],
    ) -> Result<Self, AppError> {
        let mut errors = FieldErrors::new();
        let asked = check_choice(&mut errors, "format", format);
        errors.finish()?;
        let format = match asked {
            Some(format) if offered.contains(&format) => format,
            Some(format) => {
                return Err(not_offered(format, offered));
            }
            None => {
                let candidates: Vec<(FileFormat, Mime)> = offered
                    .iter()
                    .filter_map(|format| Some((*format, media_type(*format).parse().ok()?)))
                    .collect();
                *crate::negotiation::preferred(req, &candidates).ok_or_else(|| {
                    not_offered(
                        offered.first().copied().unwrap_or(FileFormat::Json),
                        offered,
                    )
                })?
            }
        };
        Ok(Self {
            format,
            lang: file_lang(req),
        })
    }

    /// True for CSV and XLSX.
    pub fn is_file(self) -> bool {
        self.format != FileFormat::Json
    }
}

/// 406 naming the formats an operation has.
fn not_offered(format: FileFormat, offered: &[FileFormat]) -> AppError {
    let offered = offered
        .iter()
        .map(|format| format.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    AppError::new(ErrorCode::NotAcceptable).with_detail(Text::new(
        format!("This operation has no {format} form; it answers with {offered}"),
        format!("Thao tác này không có dạng {format}; chỉ có {offered}"),
    ))
}

/// The media type of a format.
pub fn media_type(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Json => "application/json",
        FileFormat::Csv => "text/csv",
        FileFormat::Xlsx => XLSX_MEDIA_TYPE,
    }
}

/// The language of a file: Vietnamese, unless `Accept-Language` prefers English.
fn file_lang(req: &HttpRequest) -> Lang {
    match req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
    {
        Some(value) => Lang::from_accept_language(Some(value)),
        None => Lang::Vi,
    }
}

/// What a file holds: `title`, then each query parameter the request gave (but the format and paging),
/// who asked and when.
pub fn about(req: &HttpRequest, actor: &AuthUser, title: Text) -> About {
    let details = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(key, _)| !matches!(key.as_ref(), "format" | "limit" | "cursor"))
        .map(|(key, value)| {
            let key = key.into_owned();
            (Text::new(key.clone(), key), value.into_owned())
        })
        .collect();
    About {
        title,
        details,
        generated_by: actor.username.clone(),
        generated_at: chrono::Utc::now(),
    }
}

/// One page of a list: its rows and the cursor of the next page.
pub type Page<R> = (Vec<R>, Option<String>);

/// How a list is written as a file: its file name (without extension), its sheet, how a row becomes
/// cells, whether it is read on the primary (it logs personal-data reads, or its JSON form reads there
/// too) rather than a replica, and whether its pages are cut from a list read whole (then a whole
/// export reads it once).
#[derive(Debug)]
pub struct ListFile<R> {
    pub name: &'static str,
    /// What the file holds, for its "About" sheet.
    pub title: Text,
    pub sheet: &'static Sheet,
    pub row: fn(&R) -> Vec<Cell>,
    pub on_primary: bool,
    pub read_whole: bool,
}

/// A list as a file. With `limit` or `cursor` it is that one page (the next page's cursor in
/// `X-Next-Cursor`); without, the whole filtered list, read page after page by `page` in one
/// repeatable-read transaction so the file is one consistent snapshot.
pub async fn list<R, P>(
    req: &HttpRequest,
    db: &Db,
    actor: &AuthUser,
    answer: Answer,
    (limit, cursor): (Option<i64>, Option<String>),
    file: ListFile<R>,
    page: P,
) -> Result<HttpResponse, AppError>
where
    R: 'static,
    P: Fn(&mut PgConnection, Option<String>, i64) -> Result<Page<R>, AppError>
        + Clone
        + Send
        + 'static,
{
    let one_page = limit.is_some() || cursor.is_some();
    let ListFile {
        name,
        title,
        sheet,
        row: to_row,
        on_primary,
        read_whole,
    } = file;
    let size = match (one_page, read_whole) {
        (true, _) => page_limit(limit)?,
        (false, true) => i64::MAX,
        (false, false) => EXPORT_PAGE,
    };
    let about = about(req, actor, title);
    let work = move |conn: &mut PgConnection| {
        let mut transaction = conn.build_transaction().repeatable_read();
        if !on_primary {
            transaction = transaction.read_only();
        }
        transaction.run(|conn| {
            let mut writer = tabular::writer(answer.format, answer.lang, &about)?;
            writer.begin(sheet)?;
            let mut cursor = cursor;
            loop {
                let (rows, next) = page(conn, cursor.take(), size)?;
                for row in &rows {
                    writer.row(&to_row(row))?;
                }
                match next {
                    Some(next) if !one_page => cursor = Some(next),
                    next => return Ok::<_, AppError>((writer.finish()?, next)),
                }
            }
        })
    };
    let (spool, next) = if on_primary {
        db.run(work).await?
    } else {
        db.read(actor.id, work).await?
    };
    Ok(file_response(spool, answer.format, name, next.as_deref()))
}

/// A table computed whole (a report) as a file: `rows`, then `totals` in bold when given.
pub async fn table(
    answer: Answer,
    about: About,
    (name, sheet): (&str, &'static Sheet),
    rows: Vec<Vec<Cell>>,
    totals: Option<Vec<Cell>>,
) -> Result<HttpResponse, AppError> {
    let spool = web::block(move || {
        let mut writer = tabular::writer(answer.format, answer.lang, &about)?;
        writer.begin(sheet)?;
        for row in &rows {
            writer.row(row)?;
        }
        if let Some(totals) = &totals {
            writer.totals(totals)?;
        }
        writer.finish()
    })
    .await??;
    Ok(file_response(spool, answer.format, name, None))
}

/// A spooled file as a download named `filename` (the extension is added), streamed from disk.
pub fn file_response(
    spool: Spool,
    format: FileFormat,
    filename: &str,
    next_cursor: Option<&str>,
) -> HttpResponse {
    let (content_type, extension) = match format {
        FileFormat::Xlsx => (XLSX_MEDIA_TYPE, "xlsx"),
        FileFormat::Csv | FileFormat::Json => (CSV_MEDIA_TYPE, "csv"),
    };
    let mut response = HttpResponse::Ok();
    response.content_type(content_type).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{filename}.{extension}\""),
    ));
    if let Some(cursor) = next_cursor {
        response.insert_header(("X-Next-Cursor", cursor.to_owned()));
    }
    let Spool { file, len } = spool;
    let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
        let (file, chunk) = web::block(move || {
            let mut buffer = vec![0; CHUNK];
            let read = file.read(&mut buffer)?;
            buffer.truncate(read);
            Ok::<_, std::io::Error>((file, buffer))
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok::<_, std::io::Error>((!chunk.is_empty()).then(|| (Bytes::from(chunk), file)))
    });
    response.body(SizedStream::new(len, chunks))
}
