//! Indicator values measured by national systems (online dossier rate, VNeID level-2 rate, DTI score).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::indicator_values::IndicatorValueResponse;
use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::{
        imports,
        indicator_values::{self, ValueQuery, response},
    },
    error::{AppError, Problem, Text},
    models::indicator_value::IndicatorValue,
    routes::{
        conditional::{keyset_page, page_limit},
        export::{self, Answer},
        imports::{ImportQuery, ImportSummary, import},
    },
    tabular::{Cell, sheets},
};

/// A list of values.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorValueListResponse {
    pub items: Vec<IndicatorValueResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing values.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IndicatorValueQuery {
    /// Values of this unit's subtree.
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<crate::reference::Indicator>)]
    pub indicator: Option<crate::reference::Choice<crate::reference::Indicator>>,
    pub source: Option<String>,
    /// Periods ending on or after.
    pub from: Option<NaiveDate>,
    /// Periods starting on or before.
    pub to: Option<NaiveDate>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// Record indicator values.
///
/// Values measured elsewhere, as a JSON array or CSV with the columns `org_unit_id` or `org_unit_code`,
/// `indicator`, `period_start`, `period_end`, `value`, `source`, `as_of`; `dry_run` and `mode` as in the
/// team import. Posting the same unit, indicator, period and source again replaces the value (audited).
#[utoipa::path(
    tag = "targets",
    operation_id = "import_indicator_values",
    params(ImportQuery),
    security(("bearer" = [])),
    request_body(content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<Object> = "application/json")),
        description = "A spreadsheet with a header row (XLSX, or CSV in UTF-8, UTF-16 or Windows-1258, as for the team import), or a JSON array of objects with the same keys."),
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
#[post("/indicator-values")]
pub async fn import_indicator_values(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ImportIndicatorValues)?;
    import(
        req,
        actor,
        query.into_inner(),
        payload,
        &db,
        imports::indicator_values::INDICATOR_VALUES,
    )
    .await
}

/// List indicator values.
///
/// Values of the units in your scope, by period. The CSV file is in the import format.
#[utoipa::path(
    tag = "targets",
    operation_id = "list_indicator_values",
    params(IndicatorValueQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of values, or the whole list as a file.",
         content((IndicatorValueListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/indicator-values")]
pub async fn list_indicator_values(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<IndicatorValueQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListIndicatorValues)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let value_query = ValueQuery {
        org_unit_id: query.org_unit_id,
        indicator: query.indicator,
        source: query.source,
        from: query.from,
        to: query.to,
    };
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let rows = indicator_values::list(conn, &actor, value_query.clone())?;
            // Latest period first, then by unit, source, indicator.
            keyset_page(rows, cursor.as_deref(), limit, |(value, code)| {
                (
                    -value.period_start.num_days_from_ce(),
                    code.clone(),
                    value.source.clone(),
                    value.indicator,
                    value.id,
                )
            })
        }
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Indicator values", "Giá trị chỉ số"),
                name: "indicator-values",
                sheet: &sheets::INDICATOR_VALUES,
                row: |(v, code): &(IndicatorValue, String)| {
                    cells![
                        code,
                        Cell::choice(v.indicator),
                        v.period_start,
                        v.period_end,
                        v.value,
                        &v.source,
                        v.as_of,
                    ]
                },
                on_primary: false,
                read_whole: true,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (rows, next) = db.run(move |conn| page(conn, query.cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(IndicatorValueListResponse {
        items: rows.iter().map(|(v, code)| response(v, code)).collect(),
        next_cursor: next,
    }))
}
