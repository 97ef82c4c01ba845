//! This API's own documentation: the OpenAPI document and the Swagger UI (vendored, works offline).

use actix_web::{HttpResponse, get, web};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::openapi::ApiSpec;

/// The OpenAPI 3.1 document.
///
/// The machine-readable contract of this API, generated from the code. Generate clients from it; the
/// same document is committed in the repository as `openapi/openapi.json`.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_openapi_document",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI document.", content_type = "application/json",
         body = Object, example = json!({"openapi": "3.1.0", "info": {"title": "cdt-api", "version": "0.1.0"}})),
    )
)]
#[get("/openapi.json")]
pub async fn get_openapi_document(spec: web::Data<ApiSpec>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-cache"))
        .body(spec.json().to_owned())
}

/// Swagger UI at `/docs/`, reading `/openapi.json`, with the online validator switched off.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").config(
        Config::new(["/openapi.json"])
            .validator_url("none")
            .try_it_out_enabled(true)
            .persist_authorization(true),
    )
}

/// `/docs` without the slash: send the browser to `/docs/`.
pub async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}
