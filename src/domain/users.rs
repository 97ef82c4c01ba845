//! Users: who signs in and what they may reach. Admins manage everyone; officers manage team leaders and
//! viewers inside their subtree; everyone keeps their own display name, phone and password. A change of
//! role, scope or status, or a new password, ends the user's sessions at once.

use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role, password, policy::forbidden},
    contract,
    domain::{
        Precondition,
        validation::{FieldErrors, double_option, normalize_phone},
    },
    error::{AppError, ErrorCode, FieldError, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit, person, refresh_token, team,
        user::{self, NewUser, User, UserChanges, UserFilter},
    },
    reference::{Choice, UserStatus, check_choice},
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
    pub status: UserStatus,
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
            role: user.role,
            org_unit_id: user.org_unit_id,
            team_id: user.team_id,
            person_id: user.person_id,
            status: user.status,
            version: user.version,
        }
    }
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
    #[schema(value_type = Option<UserStatus>)]
    pub status: Option<Choice<UserStatus>>,
}

/// A new password set by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_password": "Suối Sập chảy qua bản Mòng"}))]
pub struct ResetPasswordRequest {
    /// 10-128 characters, not the username, not easy to guess.
    pub new_password: String,
}

/// One invalid field.
fn field(name: &'static str, code: &'static str, en: &'static str, vi: &'static str) -> FieldError {
    FieldError::new(name, code, Text::new(en, vi))
}

/// 1-200 characters once trimmed.
fn validate_display_name(name: &str, errors: &mut Vec<FieldError>) {
    let length = name.trim().chars().count();
    if !(contract::DISPLAY_NAME_LENGTH.0..=contract::DISPLAY_NAME_LENGTH.1).contains(&length) {
        errors.push(field(
            "display_name",
            "length",
            "must be 1 to 200 characters",
            "phải từ 1 đến 200 ký tự",
        ));
    }
}

/// The phone in its stored form (`+84...`), or an error beside the others.
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

/// Loads a user the actor may manage, or 404.
pub fn find_manageable(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<User, AppError> {
    let found = user::find_with_scope(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("user"))?;
    let role = found.user.role;
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

/// The scope of a user, checked: officers and viewers need an org unit, team leaders a team (their unit is
/// the team's), and the actor must be allowed to place a user there.
fn checked_scope(
    conn: &mut PgConnection,
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
        let team = team::find(conn, team_id).optional_app()?.ok_or_else(|| {
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
        return Err(forbidden());
    }
    Ok(unit)
}

/// 422 on `person_id` unless it names a stored person.
fn checked_person(conn: &mut PgConnection, person_id: Option<Uuid>) -> Result<(), AppError> {
    match person_id {
        Some(id) if person::find_person(conn, id).optional_app()?.is_none() => {
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

/// A page of the users the actor manages (admins: everyone; officers: the team leaders and viewers
/// scoped inside their subtree), ordered by username after `after`.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    role: Option<Role>,
    status: Option<UserStatus>,
    search: Option<String>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(User, i32)>, AppError> {
    let filter = UserFilter {
        within_path: actor.scope_filter(),
        // Officers list exactly the users they may manage.
        roles: (actor.role == Role::Officer).then(|| vec![Role::TeamLeader, Role::Viewer]),
        role,
        status,
        query: search,
    };
    Ok(user::list_ranked(conn, &filter, after, limit)?)
}

/// A checked new user: hash its password, then [`create`] it.
#[derive(Debug)]
pub struct NewAccount {
    request: CreateUserRequest,
    phone: Option<String>,
}

impl CreateUserRequest {
    /// The new user, its own fields checked (every invalid field at once; the password's strength
    /// included). Hash `password()` before [`create`].
    pub fn parse(self) -> Result<NewAccount, AppError> {
        let mut errors = Vec::new();
        if !contract::USERNAME.accepts(&self.username) {
            errors.push(field(
                "username",
                "invalid_username",
                "must be 3-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                "phải gồm 3-64 chữ cái, chữ số, '.', '_' hoặc '-'",
            ));
        }
        validate_display_name(&self.display_name, &mut errors);
        let phone = validate_phone(self.phone.as_deref(), &mut errors);
        if let Err(error) = password::check_strength(
            "password",
            &self.password,
            &[&self.username, &self.display_name],
        ) {
            errors.extend(error.field_errors().iter().cloned());
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(NewAccount {
            request: self,
            phone,
        })
    }
}

impl NewAccount {
    /// The password to hash.
    pub fn password(&self) -> &str {
        &self.request.password
    }
}

/// Creates the user with its password hash (call inside a transaction): in a scope the actor may place
/// users in, under a username nobody has.
pub fn create(
    conn: &mut PgConnection,
    actor: &AuthUser,
    account: &NewAccount,
    password_hash: String,
) -> Result<User, AppError> {
    let body = &account.request;
    let unit = checked_scope(conn, actor, body.role, body.org_unit_id, body.team_id)?;
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
            phone: account.phone.clone(),
            password_hash,
            role: body.role,
            org_unit_id: unit.as_ref().map(|u| u.id),
            team_id: body.team_id.filter(|_| body.role == Role::TeamLeader),
            person_id: body.person_id,
        },
    )?;
    let shown = serde_json::to_value(UserResponse::from_user(&created, false)).unwrap_or_default();
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
}

/// A checked change to a user.
#[derive(Debug)]
pub struct AccountChange {
    request: UpdateUserRequest,
    /// `Some(None)` removes the phone.
    phone: Option<Option<String>>,
    status: Option<UserStatus>,
}

/// The display name and phone of a change, checked; `Some(None)` removes the phone.
fn checked_profile(
    display_name: Option<&str>,
    phone: Option<Option<&str>>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    if let Some(name) = display_name {
        validate_display_name(name, errors);
    }
    phone.map(|phone| phone.and_then(|raw| validate_phone(Some(raw), errors)))
}

impl UpdateUserRequest {
    /// The change, its own fields checked (every invalid field at once).
    pub fn parse(self) -> Result<AccountChange, AppError> {
        let mut errors = Vec::new();
        let phone = checked_profile(
            self.display_name.as_deref(),
            self.phone.as_ref().map(Option::as_deref),
            &mut errors,
        );
        let mut choices = FieldErrors::new();
        let status = check_choice(&mut choices, "status", self.status.as_ref());
        errors.extend(choices.into_errors());
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(AccountChange {
            request: self,
            phone,
            status,
        })
    }
}

/// Changes user `id`, if its version satisfies `expected` (call inside a transaction). Nobody changes
/// their own role, scope or status (403); a change of role, scope or status ends the user's sessions.
pub fn update(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    expected: &Precondition,
    change: AccountChange,
) -> Result<User, AppError> {
    let current = find_manageable(conn, actor, id)?;
    let version = expected.check(current.version)?;
    let body = change.request;
    if id == actor.id
        && (body.role.is_some()
            || body.status.is_some()
            || body.org_unit_id.is_some()
            || body.team_id.is_some())
    {
        return Err(forbidden());
    }
    let role = body.role.unwrap_or(current.role);
    let unit_id = body.org_unit_id.or(current.org_unit_id);
    let team_id = body.team_id.or(current.team_id);
    let unit = checked_scope(conn, actor, role, unit_id, team_id)?;
    checked_person(conn, body.person_id)?;
    let changes = UserChanges {
        display_name: body.display_name.map(|n| n.trim().to_owned()),
        phone: change.phone,
        role: body.role,
        org_unit_id: Some(unit.as_ref().map(|u| u.id)),
        team_id: Some(team_id.filter(|_| role == Role::TeamLeader)),
        person_id: body.person_id.map(Some),
        status: change.status,
        password_hash: None,
    };
    let ends_sessions = changes.ends_sessions(&current);
    let updated = user::update(conn, &current, version, &changes)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    if ends_sessions {
        refresh_token::revoke_user(conn, updated.id)?;
    }
    audit_user_update(conn, actor, &current, &updated, unit.map(|u| u.path))?;
    Ok(updated)
}

/// A checked change to one's own profile.
#[derive(Debug)]
pub struct ProfileChange {
    display_name: Option<String>,
    phone: Option<Option<String>>,
}

impl ProfileChange {
    /// The change, checked (every invalid field at once); `phone: Some(None)` removes the phone.
    pub fn parse(
        display_name: Option<String>,
        phone: Option<Option<String>>,
    ) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let phone = checked_profile(
            display_name.as_deref(),
            phone.as_ref().map(Option::as_deref),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(Self {
            display_name,
            phone,
        })
    }
}

/// Changes the actor's own display name or phone, if their version satisfies `expected` (call inside a
/// transaction).
pub fn update_own_profile(
    conn: &mut PgConnection,
    actor: &AuthUser,
    expected: &Precondition,
    change: ProfileChange,
) -> Result<User, AppError> {
    let current = user::find_with_scope(conn, actor.id)?.user;
    let version = expected.check(current.version)?;
    let changes = UserChanges {
        display_name: change.display_name.map(|n| n.trim().to_owned()),
        phone: change.phone,
        ..Default::default()
    };
    let updated = user::update(conn, &current, version, &changes)?
        .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    audit_user_update(conn, actor, &current, &updated, actor.scope_path.clone())?;
    Ok(updated)
}

/// Records a `user_updated` event with the fields that changed.
pub fn audit_user_update(
    conn: &mut PgConnection,
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
pub fn set_password(
    conn: &mut PgConnection,
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
