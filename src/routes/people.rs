//! People across teams, the personal-data read log, and erasure.

use actix_web::{HttpResponse, delete, get, web};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    db::Db,
    domain::memberships::mask_phone,
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        person::{self, Person, PersonFilter},
    },
    routes::conditional::{decode_cursor, decode_keyset, encode_keyset, next_cursor, page_limit},
};

/// A person. `phone` is masked unless you manage one of the person's current teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "full_name": "Lò Văn Minh", "phone": "09******78",
    "phone_masked": true, "gender": "male", "birth_year": 1985, "ethnicity": "thai", "affiliation": "village_head",
    "erased": false, "version": 1}))]
pub struct PersonResponse {
    pub id: Uuid,
    /// `null` once erased.
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub phone_masked: bool,
    #[schema(value_type = crate::reference::Gender)]
    pub gender: String,
    pub birth_year: Option<i16>,
    #[schema(value_type = Option<crate::reference::Ethnicity>)]
    pub ethnicity: Option<String>,
    #[schema(value_type = crate::reference::Affiliation)]
    pub affiliation: String,
    /// True when name and phone were erased.
    pub erased: bool,
    pub version: i32,
}

fn person_response(person: &Person, full_phone: bool) -> PersonResponse {
    PersonResponse {
        id: person.id,
        full_name: person.full_name.clone(),
        phone: person.phone.as_deref().map(|phone| {
            if full_phone {
                phone.to_owned()
            } else {
                mask_phone(phone)
            }
        }),
        phone_masked: !full_phone && person.phone.is_some(),
        gender: person.gender.clone(),
        birth_year: person.birth_year,
        ethnicity: person.ethnicity.clone(),
        affiliation: person.affiliation.clone(),
        erased: person.erased_at.is_some(),
        version: person.version,
    }
}

/// A membership of a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonMembership {
    pub id: Uuid,
    pub team_id: Uuid,
    pub team_code: String,
    pub team_name: String,
    #[schema(value_type = crate::reference::MembershipRole)]
    pub role: String,
    pub joined_on: chrono::NaiveDate,
    pub left_on: Option<chrono::NaiveDate>,
}

/// A person with every membership (in teams you may see).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonDetailResponse {
    #[serde(flatten)]
    pub person: PersonResponse,
    pub memberships: Vec<PersonMembership>,
}

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
    /// Name search ignoring case and Vietnamese diacritics.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// Whether `actor` sees `person`'s full phone: when they manage one of the person's current teams.
fn sees_full_phone(
    conn: &mut PgConnection,
    actor: &AuthUser,
    person: Uuid,
) -> Result<(bool, bool), AppError> {
    let memberships = person::person_memberships(conn, person)?;
    let visible = actor.role == Role::Admin
        || memberships
            .iter()
            .any(|m| actor.sees_team(m.membership.team_id, &m.unit_path));
    let full = actor.role == Role::Admin
        || memberships.iter().any(|m| {
            m.membership.left_on.is_none()
                && actor.sees_phones_of(m.membership.team_id, &m.unit_path)
        });
    Ok((visible, full))
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
        (status = 200, description = "A page of people.", body = PersonListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people")]
pub async fn list_people(
    actor: AuthUser,
    query: web::Query<PersonListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListPeople)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = match decode_cursor(query.cursor.as_deref())? {
        Some(position) => Some(Uuid::parse_str(&position).map_err(|_| {
            AppError::new(ErrorCode::InvalidQuery)
                .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
        })?),
        None => None,
    };
    let filter = PersonFilter {
        within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        team: (actor.role == Role::TeamLeader).then(|| actor.team_id.unwrap_or_else(Uuid::nil)),
        query: query.q,
    };
    let (items, next) = db
        .run(move |conn| {
            let people = person::list_people(conn, &filter, after, limit)?;
            let next = next_cursor(&people, limit, |p| p.id.to_string());
            let mut items = Vec::with_capacity(people.len());
            let mut shown = Vec::new();
            for p in &people {
                let (_, full) = sees_full_phone(conn, &actor, p.id)?;
                if full && p.phone.is_some() {
                    shown.push(p.id);
                }
                items.push(person_response(p, full));
            }
            person::record_reads(conn, actor.id, &shown, actor.request_id.as_deref())?;
            Ok((items, next))
        })
        .await?;
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
        .run(move |conn| {
            let found = person::find_person(conn, id)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("person"))?;
            let (visible, full) = sees_full_phone(conn, &actor, id)?;
            if !visible {
                return Err(AppError::not_found("person"));
            }
            if full && found.phone.is_some() {
                person::record_reads(conn, actor.id, &[id], actor.request_id.as_deref())?;
            }
            let memberships = person::person_memberships(conn, id)?
                .into_iter()
                .filter(|m| actor.sees_team(m.membership.team_id, &m.unit_path))
                .map(|m| PersonMembership {
                    id: m.membership.id,
                    team_id: m.membership.team_id,
                    team_code: m.team_code,
                    team_name: m.team_name,
                    role: m.membership.role,
                    joined_on: m.membership.joined_on,
                    left_on: m.membership.left_on,
                })
                .collect();
            Ok(PersonDetailResponse {
                person: person_response(&found, full),
                memberships,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Erase a person's personal data.
///
/// Removes the name, phone number and birth year of a person who has left every team (admins). Gender,
/// ethnicity and the memberships stay, so counts remain right. 409 while the person is still a member.
#[utoipa::path(
    tag = "people",
    operation_id = "erase_personal_data",
    params(("id" = Uuid, Path, description = "Person id")),
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
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ErasePersonalData)?;
    let id = id.into_inner();
    db.run(move |conn| {
        conn.transaction(|conn| {
            let found = person::find_person(conn, id)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("person"))?;
            if person::has_current_membership(conn, id)? {
                return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                    "The person is still a member of a team; end the membership first",
                    "Người này vẫn là thành viên của tổ; hãy kết thúc trước",
                )));
            }
            if found.erased_at.is_some() {
                return Ok(());
            }
            person::erase_personal_data(conn, id)?;
            let path = person::person_memberships(conn, id)?
                .first()
                .map(|m| m.unit_path.clone());
            audit::record(
                conn,
                &actor.audit_context(),
                NewAuditEvent {
                    action: "personal_data_erased",
                    entity_type: "person",
                    entity_id: Some(id),
                    org_unit_path: path,
                    changes: serde_json::json!({"fields": ["full_name", "phone", "birth_year"]}),
                },
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One read of full personal data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataReadResponse {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who read.
    pub reader_id: Uuid,
    /// Whose data.
    pub person_id: Uuid,
    /// What was shown (`phone`).
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
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List reads of personal data.
///
/// Every response that showed someone's full phone number: who read whose, and when (admins).
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
                query.person_id,
                query.reader_id,
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
                fields: r.fields,
                request_id: r.request_id,
            })
            .collect(),
        next_cursor: next,
    }))
}
