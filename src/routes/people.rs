//! People across teams, the personal-data read log, and erasure: the HTTP face. The rules and
//! operations are `domain::people`.

use actix_web::{HttpRequest, HttpResponse, delete, get, web};
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::people::{PersonDetailResponse, PersonMembership, PersonResponse};
use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::people,
    error::{AppError, Problem, Text},
    models::{person, search::ranked_position},
    routes::{
        conditional::{decode_cursor, decode_keyset, encode_keyset, next_cursor, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

/// A page of people.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonListResponse {
    pub items: Vec<PersonResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing people.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonListQuery {
    /// Name search ignoring case and Vietnamese diacritics. Three characters or more match anywhere in the text; one or two match the start of it. Results come exact matches first, then those starting with the term, then the rest.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// List people.
///
/// People with a membership in a team you may see, with name search. Phone numbers are masked unless you
/// manage one of the person's current teams; every full number shown is recorded.
#[utoipa::path(
    tag = "people",
    operation_id = "list_people",
    params(PersonListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of people, or the whole list as a file.", body = PersonListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people")]
pub async fn list_people(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<PersonListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListPeople)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let search = query.q;
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let after = decode_cursor(cursor.as_deref())?;
            let ranked = people::list(conn, &actor, search.clone(), after.as_deref(), limit)?;
            let next = next_cursor(&ranked, limit, |(p, rank)| match &search {
                Some(_) => ranked_position(*rank, &p.id.to_string()),
                None => p.id.to_string(),
            });
            Ok((ranked.into_iter().map(|(p, _)| p).collect::<Vec<_>>(), next))
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
                title: Text::new("People", "Danh sách người"),
                name: "people",
                sheet: &sheets::PEOPLE,
                row: |p: &PersonResponse| {
                    cells![
                        p.id.to_string(),
                        p.full_name.as_ref(),
                        p.phone.as_ref(),
                        Cell::choice(p.gender),
                        p.birth_year.map(i32::from),
                        p.ethnicity.map(Cell::choice),
                        Cell::choice(p.affiliation),
                        p.erased,
                        p.version,
                    ]
                },
                on_primary: true,
                read_whole: false,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (items, next) = db.run(move |conn| page(conn, query.cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(PersonListResponse {
        items,
        next_cursor: next,
    }))
}

/// Find a person.
///
/// A person with their memberships in the teams you may see. Anyone outside your scope is 404.
#[utoipa::path(
    tag = "people",
    operation_id = "find_person",
    params(("id" = Uuid, Path, description = "Person id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The person.", body = PersonDetailResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people/{id}")]
pub async fn find_person(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindPerson)?;
    let id = id.into_inner();
    let detail = db
        .run(move |conn| people::find_detail(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Erase a person's personal data.
///
/// Removes the name, phone number and birth year of a person who has left every team (admins). Gender,
/// ethnicity and the memberships stay, so counts remain right. 409 while the person is still a member.
///
/// Photos and sign-in sheets can show the person too. With `attachments=delete` the attachments
/// uploaded by the person's user account, and those of sessions the person ran (as a trainer: photos of
/// a session show who led it), are deleted as well: at once, not after the usual retention, their files
/// removed by the next clean-up unless another attachment holds the same bytes. The default `keep`
/// leaves the records' evidence in place (an attendance sheet also proves the other participants). The
/// audit event states how many were deleted; a second call with `attachments=delete` after an erasure
/// still deletes them.
#[utoipa::path(
    tag = "people",
    operation_id = "erase_personal_data",
    params(("id" = Uuid, Path, description = "Person id"), EraseQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Erased."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still a current member of a team.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/people/{id}/personal-data")]
pub async fn erase_personal_data(
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<EraseQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ErasePersonalData)?;
    let id = id.into_inner();
    let mut errors = crate::domain::validation::FieldErrors::new();
    let attachments = crate::reference::check_choice(
        &mut errors,
        "attachments",
        query.into_inner().attachments.as_ref(),
    )
    .unwrap_or(people::ErasedAttachments::Keep);
    errors.finish()?;
    db.run(move |conn| conn.transaction(|conn| people::erase(conn, &actor, id, attachments)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Options of an erasure.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EraseQuery {
    /// `keep` (default) or `delete`: also delete the attachments uploaded by the person or of sessions
    /// they ran.
    #[param(value_type = Option<crate::reference::ErasedAttachments>, example = "delete")]
    pub attachments: Option<crate::reference::Choice<crate::reference::ErasedAttachments>>,
}

/// One read of full personal data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataReadResponse {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who read.
    pub reader_id: Uuid,
    /// Whose data (absent for an attachment's download).
    pub person_id: Option<Uuid>,
    /// The attachment whose original was downloaded (a photo or sign-in sheet shows names and faces).
    pub attachment_id: Option<Uuid>,
    /// What was shown: `phone`, or `attachment` for a download of an attachment's original.
    pub fields: String,
    pub request_id: Option<String>,
}

/// A page of reads, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataReadListResponse {
    pub items: Vec<PersonalDataReadResponse>,
    pub next_cursor: Option<String>,
}

/// Filters for the read log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataReadQuery {
    pub person_id: Option<Uuid>,
    pub reader_id: Option<Uuid>,
    /// Downloads of this attachment's original.
    pub attachment_id: Option<Uuid>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List reads of personal data.
///
/// Every response that showed someone's full phone number, and every download of an attachment's
/// original: who read what, and when (admins).
#[utoipa::path(
    tag = "people",
    operation_id = "list_personal_data_reads",
    params(PersonalDataReadQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of reads.", body = PersonalDataReadListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/personal-data-reads")]
pub async fn list_personal_data_reads(
    actor: AuthUser,
    query: web::Query<PersonalDataReadQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListPersonalDataReads)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let before = decode_keyset::<DateTime<Utc>>(query.cursor.as_deref())?;
    let reads = db
        .run(move |conn| {
            Ok(person::list_reads(
                conn,
                person::ReadFilter {
                    person: query.person_id,
                    reader: query.reader_id,
                    attachment: query.attachment_id,
                },
                before,
                limit,
            )?)
        })
        .await?;
    let next = if reads.len() as i64 == limit {
        reads
            .last()
            .map(|r| encode_keyset(&r.at.to_rfc3339(), r.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(PersonalDataReadListResponse {
        items: reads
            .into_iter()
            .map(|r| PersonalDataReadResponse {
                id: r.id,
                at: r.at,
                reader_id: r.reader_id,
                person_id: r.person_id,
                attachment_id: r.attachment_id,
                fields: r.fields,
                request_id: r.request_id,
            })
            .collect(),
        next_cursor: next,
    }))
}
