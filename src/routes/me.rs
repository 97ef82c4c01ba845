//! The signed-in user's own account.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use diesel::Connection;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    auth::session::{SignInResponse, issue_session},
    auth::{AuthState, AuthUser, Operation, password},
    db::Db,
    domain::{
        users::{self, ProfileChange, UserResponse, set_password},
        validation::double_option,
    },
    error::{AppError, FieldError, Problem, Text},
    models::user,
    routes::conditional::{etag, if_match},
};

/// Your account.
///
/// The signed-in user, with `ETag`.
#[utoipa::path(
    tag = "me",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account.", body = UserResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn get_me(actor: AuthUser, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetMe)?;
    let id = actor.id;
    let found = db
        .run(move |conn| user::find_with_scope(conn, id).map_err(Into::into))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.user.version)))
        .json(UserResponse::from_user(&found.user, true)))
}

/// Changes to your own account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Lò Văn Minh", "phone": "+84912345678"}))]
pub struct UpdateMeRequest {
    pub display_name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
}

/// Update your account.
///
/// Changes your display name or phone number. `If-Match` makes the change conditional.
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Updated.", body = UserResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<UpdateMeRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateMe)?;
    let body = body.into_inner();
    let change = ProfileChange::parse(body.display_name, body.phone)?;
    let expected = if_match(&req);
    let updated = db
        .run(move |conn| {
            conn.transaction(|conn| users::update_own_profile(conn, &actor, &expected, change))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(updated.version)))
        .json(UserResponse::from_user(&updated, true)))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Mây trắng bay qua đỉnh Pha Luông", "new_password": "Suối Sập chảy qua bản Mòng"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 10-128 characters, not the username, not easy to guess.
    pub new_password: String,
}

/// Change your password.
///
/// Needs the current password. Ends every other session of yours and returns a fresh session for this
/// client (the old access token stops working).
#[utoipa::path(
    tag = "me",
    operation_id = "change_my_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; a new session for this client.", body = SignInResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or weak new one.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_my_password(
    actor: AuthUser,
    body: web::Json<ChangePasswordRequest>,
    state: web::Data<AuthState>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ChangeMyPassword)?;
    let body = body.into_inner();
    let id = actor.id;
    let current = db
        .run(move |conn| user::find_with_scope(conn, id).map_err(Into::into))
        .await?
        .user;
    let matches = state
        .hashing
        .verify_off_thread(body.current_password.clone(), current.password_hash.clone())
        .await?;
    if !matches {
        return Err(AppError::validation(vec![FieldError::new(
            "current_password",
            "incorrect",
            Text::new(
                "is not your current password",
                "không đúng mật khẩu hiện tại",
            ),
        )]));
    }
    password::check_strength(
        "new_password",
        &body.new_password,
        &[&current.username, &current.display_name],
    )?;
    let password_hash = state.hashing.hash_off_thread(body.new_password).await?;
    let state = state.into_inner();
    let session = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let updated =
                    set_password(conn, &actor, &current, password_hash, "password_changed")?;
                issue_session(conn, &state, &updated, None)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(session))
}
