//! Users: admins manage everyone; officers manage team leaders and viewers inside their subtree.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthState, AuthUser, Operation, OptionalApp, Role, password},
    db::Db,
    domain::validation::double_option,
    domain::validation::normalize_phone,
    error::{AppError, ErrorCode, FieldError, Problem, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit, refresh_token,
        user::{self, NewUser, User, UserChanges, UserFilter},
    },
    routes::conditional::{decode_cursor, etag, if_match, next_cursor, page_limit},
};

/// A user as the API shows it. `phone` is personal data: shown to the user, admins and officers only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    /// Normalised `+84...` mobile number (personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `admin`, `officer`, `team_leader` or `viewer`.
    pub role: Role,
    /// Scope root for officers and viewers; the team's unit for team leaders.
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// For team leaders: their person record.
    pub person_id: Option<Uuid>,
    /// `active` or `disabled`.
    #[schema(value_type = crate::reference::UserStatus)]
    pub status: String,
    pub version: i32,
}

impl UserResponse {
    /// The DTO; `with_phone` decides whether the personal phone number is included.
    pub fn from_user(user: &User, with_phone: bool) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            phone: if with_phone { user.phone.clone() } else { None },
            role: Role::parse(&user.role).unwrap_or(Role::Viewer),
            org_unit_id: user.org_unit_id,
            team_id: user.team_id,
            person_id: user.person_id,
            status: user.status.clone(),
            version: user.version,
        }
    }
}

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
    pub role: Option<Role>,
    /// `active` or `disabled`.
    #[param(value_type = Option<crate::reference::UserStatus>)]
    pub status: Option<String>,
    /// Search in username and display name, ignoring case and diacritics.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "lo.van.minh", "display_name": "Lò Văn Minh", "phone": "0912 345 678",
    "password": "Mây trắng bay qua đỉnh Pha Luông", "role": "team_leader",
    "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001"}))]
pub struct CreateUserRequest {
    /// 3-64 characters of letters, digits, `.`, `_`, `-`; unique ignoring case.
    pub username: String,
    pub display_name: String,
    /// Vietnamese mobile number in any common format.
    pub phone: Option<String>,
    /// 10-128 characters, not the username, not easy to guess.
    pub password: String,
    pub role: Role,
    /// Required for officers and viewers (their scope root).
    pub org_unit_id: Option<Uuid>,
    /// Required for team leaders: their team (its unit becomes their `org_unit_id`).
    pub team_id: Option<Uuid>,
    /// For team leaders: the person they are in the team's member list.
    pub person_id: Option<Uuid>,
}

/// Changes to a user (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "disabled"}))]
pub struct UpdateUserRequest {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    pub org_unit_id: Option<Uuid>,
    /// A team leader's team.
    pub team_id: Option<Uuid>,
    /// A team leader's person record.
    pub person_id: Option<Uuid>,
    /// `active` or `disabled`; disabling ends every session at once.
    #[schema(value_type = Option<crate::reference::UserStatus>)]
    pub status: Option<String>,
}

fn field(name: &'static str, code: &'static str, en: &'static str, vi: &'static str) -> FieldError {
    FieldError::new(name, code, Text::new(en, vi))
}

fn validate_display_name(name: &str, errors: &mut Vec<FieldError>) {
    let length = name.trim().chars().count();
    if !(1..=200).contains(&length) {
        errors.push(field(
            "display_name",
            "length",
            "must be 1 to 200 characters",
            "phải từ 1 đến 200 ký tự",
        ));
    }
}

fn validate_phone(phone: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let phone = phone?;
    let normalized = normalize_phone(phone);
    if normalized.is_none() {
        errors.push(field(
            "phone",
            "invalid_phone",
            "must be a Vietnamese mobile number such as 0912345678 or +84912345678",
            "phải là số di động Việt Nam, ví dụ 0912345678 hoặc +84912345678",
        ));
    }
    normalized
}

fn is_valid_username(username: &str) -> bool {
    let bytes = username.as_bytes();
    (3..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
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
    let after = decode_cursor(query.cursor.as_deref())?;
    let filter = UserFilter {
        within_path: actor.scope_filter(),
        // Officers list exactly the users they may manage.
        roles: (actor.role == Role::Officer).then(|| {
            vec![
                Role::TeamLeader.as_str().to_owned(),
                Role::Viewer.as_str().to_owned(),
            ]
        }),
        role: query.role.map(|role| role.as_str().to_owned()),
        status: query.status,
        query: query.q,
    };
    let users = db
        .run(move |conn| user::list(conn, &filter, after.as_deref(), limit).map_err(Into::into))
        .await?;
    let next_cursor = next_cursor(&users, limit, |u| u.username.clone());
    Ok(HttpResponse::Ok().json(UserListResponse {
        items: users
            .iter()
            .map(|u| UserResponse::from_user(u, true))
            .collect(),
        next_cursor,
    }))
}

/// Loads a user the actor may manage, or 404.
fn load_manageable(
    conn: &mut diesel::PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<User, AppError> {
    let found = user::find_with_scope(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("user"))?;
    let role = Role::parse(&found.user.role).unwrap_or(Role::Viewer);
    let visible = actor.role == Role::Admin
        || (found
            .scope_path
            .as_deref()
            .is_some_and(|path| actor.sees_path(path))
            && actor.may_manage_user(role, found.scope_path.as_deref()));
    if visible {
        Ok(found.user)
    } else {
        Err(AppError::not_found("user"))
    }
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
        .run(move |conn| load_manageable(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.version)))
        .json(UserResponse::from_user(&found, true)))
}

/// The scope of a user, checked: officers and viewers need an org unit, team leaders a team (their unit is
/// the team's), and the actor must be allowed to place a user there.
fn checked_scope(
    conn: &mut diesel::PgConnection,
    actor: &AuthUser,
    role: Role,
    org_unit_id: Option<Uuid>,
    team_id: Option<Uuid>,
) -> Result<Option<org_unit::OrgUnit>, AppError> {
    let unit_id = if role == Role::TeamLeader {
        let Some(team_id) = team_id else {
            return Err(AppError::validation(vec![field(
                "team_id",
                "required",
                "is required for a team leader",
                "bắt buộc với tổ trưởng",
            )]));
        };
        let team = crate::models::team::find(conn, team_id)
            .optional_app()?
            .ok_or_else(|| {
                AppError::validation(vec![field(
                    "team_id",
                    "not_found",
                    "no such team",
                    "không có tổ này",
                )])
            })?;
        Some(team.org_unit_id)
    } else {
        org_unit_id
    };
    let unit = match unit_id {
        Some(id) => Some(org_unit::find(conn, id).optional_app()?.ok_or_else(|| {
            AppError::validation(vec![field(
                "org_unit_id",
                "not_found",
                "no such org unit",
                "không có đơn vị này",
            )])
        })?),
        None => None,
    };
    if role != Role::Admin && unit.is_none() {
        return Err(AppError::validation(vec![field(
            "org_unit_id",
            "required",
            "is required for this role",
            "bắt buộc với vai trò này",
        )]));
    }
    if !actor.may_manage_user(role, unit.as_ref().map(|u| u.path.as_str())) {
        return Err(crate::auth::policy::forbidden());
    }
    Ok(unit)
}

/// 422 on `person_id` unless it names a stored person.
fn checked_person(
    conn: &mut diesel::PgConnection,
    person_id: Option<Uuid>,
) -> Result<(), AppError> {
    match person_id {
        Some(id)
            if crate::models::person::find_person(conn, id)
                .optional_app()?
                .is_none() =>
        {
            Err(AppError::validation(vec![field(
                "person_id",
                "not_found",
                "no such person",
                "không có người này",
            )]))
        }
        _ => Ok(()),
    }
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
    let body = body.into_inner();
    let mut errors = Vec::new();
    if !is_valid_username(&body.username) {
        errors.push(field(
            "username",
            "invalid_username",
            "must be 3-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            "phải gồm 3-64 chữ cái, chữ số, '.', '_' hoặc '-'",
        ));
    }
    validate_display_name(&body.display_name, &mut errors);
    let phone = validate_phone(body.phone.as_deref(), &mut errors);
    if let Err(error) = password::check_strength(
        "password",
        &body.password,
        &[&body.username, &body.display_name],
    ) {
        errors.extend(error.field_errors().iter().cloned());
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let password_hash = state.hashing.hash_off_thread(body.password.clone()).await?;
    let created = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let unit = checked_scope(conn, &actor, body.role, body.org_unit_id, body.team_id)?;
                checked_person(conn, body.person_id)?;
                if user::find_by_username(conn, &body.username)?.is_some() {
                    return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
                        "This username is taken",
                        "Tên đăng nhập đã được dùng",
                    )));
                }
                let created = user::insert(
                    conn,
                    &NewUser {
                        id: Uuid::now_v7(),
                        username: body.username.clone(),
                        display_name: body.display_name.trim().to_owned(),
                        phone,
                        password_hash,
                        role: body.role.as_str().to_owned(),
                        org_unit_id: unit.as_ref().map(|u| u.id),
                        team_id: body.team_id.filter(|_| body.role == Role::TeamLeader),
                        person_id: body.person_id,
                    },
                )?;
                let shown = serde_json::to_value(UserResponse::from_user(&created, false))
                    .unwrap_or_default();
                audit::record_change(
                    conn,
                    &actor.audit_context(),
                    "user_created",
                    "user",
                    created.id,
                    unit.map(|u| u.path),
                    None,
                    &shown,
                )?;
                Ok(created)
            })
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
    let body = body.into_inner();
    let mut errors = Vec::new();
    if let Some(name) = &body.display_name {
        validate_display_name(name, &mut errors);
    }
    let phone = match &body.phone {
        Some(Some(raw)) => Some(validate_phone(Some(raw), &mut errors)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(status) = &body.status
        && !matches!(status.as_str(), "active" | "disabled")
    {
        errors.push(field(
            "status",
            "invalid_choice",
            "must be active or disabled",
            "phải là active hoặc disabled",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let if_match = if_match(&req);
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = load_manageable(conn, &actor, id)?;
                let version = if_match.check(current.version)?;
                if id == actor.id
                    && (body.role.is_some()
                        || body.status.is_some()
                        || body.org_unit_id.is_some()
                        || body.team_id.is_some())
                {
                    return Err(crate::auth::policy::forbidden());
                }
                let role = body
                    .role
                    .unwrap_or(Role::parse(&current.role).unwrap_or(Role::Viewer));
                let unit_id = body.org_unit_id.or(current.org_unit_id);
                let team_id = body.team_id.or(current.team_id);
                let unit = checked_scope(conn, &actor, role, unit_id, team_id)?;
                checked_person(conn, body.person_id)?;
                let changes = UserChanges {
                    display_name: body.display_name.map(|n| n.trim().to_owned()),
                    phone,
                    role: body.role.map(|r| r.as_str().to_owned()),
                    org_unit_id: Some(unit.as_ref().map(|u| u.id)),
                    team_id: Some(team_id.filter(|_| role == Role::TeamLeader)),
                    person_id: body.person_id.map(Some),
                    status: body.status,
                    password_hash: None,
                };
                let ends_sessions = changes.ends_sessions(&current);
                let updated = user::update(conn, &current, version, &changes)?
                    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
                if ends_sessions {
                    refresh_token::revoke_user(conn, updated.id)?;
                }
                audit_user_update(conn, &actor, &current, &updated, unit.map(|u| u.path))?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(UserResponse::from_user(&updated, true)))
}

/// A new password set by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_password": "Suối Sập chảy qua bản Mòng"}))]
pub struct ResetPasswordRequest {
    /// 10-128 characters, not the username, not easy to guess.
    pub new_password: String,
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
        .run(move |conn| load_manageable(conn, &actor_for_lookup, id))
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

/// Records a `user_updated` event with the fields that changed.
pub(crate) fn audit_user_update(
    conn: &mut diesel::PgConnection,
    actor: &AuthUser,
    before: &User,
    after: &User,
    org_unit_path: Option<String>,
) -> Result<(), AppError> {
    Ok(audit::record_change(
        conn,
        &actor.audit_context(),
        "user_updated",
        "user",
        after.id,
        org_unit_path,
        Some(&UserResponse::from_user(before, true)),
        &UserResponse::from_user(after, true),
    )?)
}

/// Replaces a password, ends every session of the user, and audits it.
pub(crate) fn set_password(
    conn: &mut diesel::PgConnection,
    actor: &AuthUser,
    target: &User,
    password_hash: String,
    action: &'static str,
) -> Result<User, AppError> {
    conn.transaction(|conn| {
        let changes = UserChanges {
            password_hash: Some(password_hash),
            ..UserChanges::default()
        };
        let updated = user::update(conn, target, target.version, &changes)?
            .ok_or_else(|| AppError::new(ErrorCode::Conflict))?;
        refresh_token::revoke_user(conn, target.id)?;
        audit::record(
            conn,
            &actor.audit_context(),
            NewAuditEvent {
                action,
                entity_type: "user",
                entity_id: Some(target.id),
                org_unit_path: None,
                changes: serde_json::json!({"password": "changed"}),
            },
        )?;
        Ok(updated)
    })
}
