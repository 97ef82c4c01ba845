//! Users: the HTTP face (list, find, create, update, reset a password). The rules and operations are
//! `domain::users`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::users::{
    CreateUserRequest, ResetPasswordRequest, UpdateUserRequest, UserResponse,
};
use crate::{
    auth::{AuthState, AuthUser, Operation, Role, password},
    db::Db,
    domain::users::{self, find_manageable, set_password},
    domain::validation::FieldErrors,
    error::{AppError, ErrorCode, Problem, Text},
    reference::{Choice, UserStatus, check_choice},
    routes::conditional::{decode_search_cursor, etag, if_match, next_cursor, page_limit},
};

/// A page of users.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserListResponse {
    pub items: Vec<UserResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing users.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Only this role.
    #[param(value_type = Option<Role>)]
    pub role: Option<Choice<Role>>,
    /// `active` or `disabled`.
    #[param(value_type = Option<UserStatus>)]
    pub status: Option<Choice<UserStatus>>,
    /// Search in username and display name, ignoring case and diacritics. Three characters or more match anywhere in the text; one or two match the start of it. Results come exact matches first, then those starting with the term, then the rest.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// List users.
///
/// Admins see every user; officers see the team leaders and viewers scoped inside their subtree (the users
/// they manage). Ordered by username, with keyset pagination.
#[utoipa::path(
    tag = "users",
    operation_id = "list_users",
    params(UserListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users.", body = UserListResponse),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage users.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    actor: AuthUser,
    query: web::Query<UserListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListUsers)?;
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_search_cursor(query.cursor.as_deref(), query.q.is_some())?;
    let mut errors = FieldErrors::new();
    let role = check_choice(&mut errors, "role", query.role.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let searching = query.q.is_some();
    let ranked = db
        .run(move |conn| users::list(conn, &actor, role, status, query.q, after.as_deref(), limit))
        .await?;
    let next_cursor = next_cursor(&ranked, limit, |(u, rank)| {
        if searching {
            crate::models::search::ranked_position(*rank, &u.username)
        } else {
            u.username.clone()
        }
    });
    let users: Vec<_> = ranked.into_iter().map(|(u, _)| u).collect();
    Ok(HttpResponse::Ok().json(UserListResponse {
        items: users
            .iter()
            .map(|u| UserResponse::from_user(u, true))
            .collect(),
        next_cursor,
    }))
}

/// Find a user.
///
/// One user by id, with `ETag`. Officers find only users they may manage; anything else is 404.
#[utoipa::path(
    tag = "users",
    operation_id = "find_user",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user.", body = UserResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage users.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn find_user(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindUser)?;
    let id = id.into_inner();
    let found = db
        .run(move |conn| find_manageable(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.version)))
        .json(UserResponse::from_user(&found, true)))
}

/// Create a user.
///
/// Admins create any user; officers create team leaders and viewers inside their subtree. The password
/// must be 10-128 characters, must not contain the username and must not be easy to guess.
#[utoipa::path(
    tag = "users",
    operation_id = "create_user",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created.", body = UserResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "May not create this user.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    actor: AuthUser,
    body: web::Json<CreateUserRequest>,
    state: web::Data<AuthState>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateUser)?;
    let account = body.into_inner().parse()?;
    let password_hash = state
        .hashing
        .hash_off_thread(account.password().to_owned())
        .await?;
    let created = db
        .run(move |conn| {
            conn.transaction(|conn| users::create(conn, &actor, &account, password_hash))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(created.version)))
        .insert_header(("Location", format!("/api/v1/users/{}", created.id)))
        .json(UserResponse::from_user(&created, true)))
}

/// Update a user.
///
/// Changes display name, phone, role, scope or status. `If-Match` makes the change conditional (412 when
/// stale). Disabling a user or changing their role or scope ends all their sessions at once.
#[utoipa::path(
    tag = "users",
    operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Updated.", body = UserResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "May not make this change.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUserRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateUser)?;
    let id = id.into_inner();
    let change = body.into_inner().parse()?;
    let expected = if_match(&req);
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| users::update(conn, &actor, id, &expected, change))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(UserResponse::from_user(&updated, true)))
}

/// Reset a user's password.
///
/// Sets a new password and ends every session of the user at once. Not for your own account (403): change
/// your own password with `POST /api/v1/me/password`, which asks for the current one.
#[utoipa::path(
    tag = "users",
    operation_id = "reset_user_password",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password replaced; sessions ended."),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage users, or the account is your own (use `POST /api/v1/me/password`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password rejected.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/reset-password")]
pub async fn reset_user_password(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ResetPasswordRequest>,
    state: web::Data<AuthState>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ResetUserPassword)?;
    let id = id.into_inner();
    // A reset needs no current password: on one's own account it would let a stolen access token take
    // the account over. One's own password changes through `POST /me/password`.
    if id == actor.id {
        return Err(AppError::new(ErrorCode::Forbidden).with_detail(Text::new(
            "Change your own password with POST /api/v1/me/password",
            "Hãy đổi mật khẩu của chính bạn qua POST /api/v1/me/password",
        )));
    }
    let actor_for_lookup = actor.clone();
    let target = db
        .run(move |conn| find_manageable(conn, &actor_for_lookup, id))
        .await?;
    password::check_strength(
        "new_password",
        &body.new_password,
        &[&target.username, &target.display_name],
    )?;
    let new_password = body.into_inner().new_password;
    let password_hash = state.hashing.hash_off_thread(new_password).await?;
    db.run(move |conn| set_password(conn, &actor, &target, password_hash, "password_reset"))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
