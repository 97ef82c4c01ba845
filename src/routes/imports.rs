//! Bulk import of teams and members from spreadsheets (XLSX or CSV) or JSON arrays, the HTTP face: the body is
//! read (at most 20 MiB) and parsed into rows, then `domain::imports` plans and writes them.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

pub use crate::domain::imports::{ImportRowError, ImportSummary};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::imports::{self, ImportFile, ImportKind, ImportOptions, parse_rows, templates},
    error::{AppError, ErrorCode, Problem, Text},
    reference::{FileFormat, ImportTemplate, Vocabulary},
    routes::export::{self, Answer},
    tabular::template::write_template,
};

/// Largest import body.
pub const IMPORT_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// How to import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `true`: check and count, write nothing.
    pub dry_run: Option<bool>,
    /// `atomic` (default): any bad row rejects the whole file. `per_row`: good rows are written, bad rows
    /// reported.
    #[param(value_type = Option<crate::reference::ImportMode>)]
    pub mode: Option<crate::reference::Choice<crate::reference::ImportMode>>,
    /// The sheet to read from an XLSX file (default: the first).
    #[param(max_length = 31)]
    pub sheet: Option<String>,
}

/// The body, at most [`IMPORT_BODY_LIMIT`] bytes (413 beyond).
async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            AppError::new(ErrorCode::InvalidBody).with_source(anyhow::anyhow!("{error}"))
        })?;
        if body.len() + chunk.len() > IMPORT_BODY_LIMIT {
            return Err(
                AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
                    format!("An import may be at most {IMPORT_BODY_LIMIT} bytes"),
                    format!("Tệp nhập tối đa {IMPORT_BODY_LIMIT} byte"),
                )),
            );
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The request's content type, lower case.
fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads, parses and imports a body as `kind` (shared by the team, member and indicator imports).
pub(crate) async fn import(
    req: HttpRequest,
    actor: AuthUser,
    query: ImportQuery,
    payload: web::Payload,
    db: &Db,
    kind: ImportKind,
) -> Result<HttpResponse, AppError> {
    let options = ImportOptions::parse(query.dry_run, query.mode.as_ref())?;
    let content_type = content_type(&req);
    let body = read_body(payload).await?;
    // Reading an XLSX file unzips it: off the async threads.
    let parsed = web::block({
        let sheet = query.sheet.clone();
        move || {
            parse_rows(
                ImportFile {
                    content_type: &content_type,
                    body: &body,
                    sheet: sheet.as_deref(),
                },
                &kind,
            )
        }
    })
    .await??;
    let summary = db
        .run(move |conn| imports::run(conn, &actor, &parsed, options, kind.plan))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Import teams.
///
/// Creates or updates teams from a CSV file (the columns of the team export: `code`, `name`,
/// `org_unit_name`, `org_unit_code`, `level`, `status`, `founded_on`, `establishment_decision`,
/// `zalo_group_members`, `zalo_group_members_as_of`, `notes`; `parent_code` optional) or a JSON array of
/// objects with those keys. Teams are matched by `code`. A village named by `org_unit_code` that does
/// not exist yet is created under its commune (`parent_code`, or the code before the last `.`).
#[utoipa::path(
    tag = "imports",
    operation_id = "import_teams",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<Object> = "application/json")),
        description = "A spreadsheet with a header row: XLSX (the first sheet, or `sheet`), or CSV in UTF-8 (optional BOM), UTF-16 (Excel's \"Unicode text\") or Windows-1258 (older Excel's \"CSV\"), comma, semicolon or tab separated (a `charset` parameter decides the encoding when given); or a JSON array of objects with the same keys. Headers may be the column keys or the Vietnamese or English headers of the export and the template; enumerated cells their codes or labels."),
    responses(
        (status = 200, description = "The summary; `committed` says whether anything was written.", body = ImportSummary),
        (status = 400, description = "Unreadable body.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 20 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV, XLSX nor JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed file, an encoding that cannot be told, a missing sheet or column, or bad options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/teams")]
pub async fn import_teams(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportTeams)?;
    import(
        req,
        actor,
        query.into_inner(),
        payload,
        &db,
        imports::teams::TEAMS,
    )
    .await
}

/// Import members.
///
/// Creates or updates memberships from a CSV file (the columns of the member export: `team_code`,
/// `full_name`, `phone`, `gender`, `birth_year`, `ethnicity`, `affiliation`, `role`, `joined_on`,
/// `left_on`) or a JSON array. A person is matched by phone number, or by name within the team; a
/// membership by team, person and `joined_on`. A team keeps at most one current leader.
#[utoipa::path(
    tag = "imports",
    operation_id = "import_members",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<Object> = "application/json")),
        description = "A spreadsheet with a header row: XLSX (the first sheet, or `sheet`), or CSV in UTF-8 (optional BOM), UTF-16 (Excel's \"Unicode text\") or Windows-1258 (older Excel's \"CSV\"), comma, semicolon or tab separated (a `charset` parameter decides the encoding when given); or a JSON array of objects with the same keys. Headers may be the column keys or the Vietnamese or English headers of the export and the template; enumerated cells their codes or labels."),
    responses(
        (status = 200, description = "The summary; `committed` says whether anything was written.", body = ImportSummary),
        (status = 400, description = "Unreadable body.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 20 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV, XLSX nor JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed file, an encoding that cannot be told, a missing sheet or column, or bad options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/members")]
pub async fn import_members(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportMembers)?;
    import(
        req,
        actor,
        query.into_inner(),
        payload,
        &db,
        imports::members::MEMBERS,
    )
    .await
}

/// Options of an import template.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// `xlsx`, the only format of a template (overrides `Accept`).
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// Get an import template.
///
/// An XLSX to fill and send back to the import: the import's header row (required columns in red), a
/// drop-down on every enumerated column generated from the same definitions as `GET /api/v1/reference`
/// (genders, ethnic groups, affiliations, membership roles, levels, statuses, indicators) and on unit and
/// team codes (those of your scope, in force today), date and number rules, phone cells kept as text so a
/// leading zero stays, and an instructions sheet. Vietnamese, English with `Accept-Language: en`.
#[utoipa::path(
    tag = "imports",
    operation_id = "get_import_template",
    params(("kind" = crate::reference::ImportTemplate, Path, description = "`teams`, `members` or `indicator_values`"), TemplateQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The template.",
         content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and officers only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such import.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` or `format` asks for something other than XLSX.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/imports/{kind}/template")]
pub async fn get_import_template(
    req: HttpRequest,
    actor: AuthUser,
    kind: web::Path<String>,
    query: web::Query<TemplateQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetImportTemplate)?;
    let template = <ImportTemplate as Vocabulary>::parse(&kind.into_inner())
        .ok_or_else(|| AppError::not_found("import template"))?;
    let answer = Answer::among(&req, query.format.as_ref(), &[FileFormat::Xlsx])?;
    let content = db
        .read(actor.id, move |conn| {
            templates::content(conn, &actor, template)
        })
        .await?;
    let sheet = templates::kind_of(template).sheet;
    let spool = web::block(move || write_template(sheet, &content, answer.lang)).await??;
    Ok(export::file_response(
        spool,
        FileFormat::Xlsx,
        &format!("template-{template}"),
        None,
    ))
}
