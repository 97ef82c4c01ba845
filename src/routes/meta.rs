//! The API root: what this service is and where its documentation lives.

use actix_web::{HttpResponse, get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Description of the API.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "cdt-api", "version": "0.1.0", "api_version": "v1",
                          "documentation_url": "/docs/", "openapi_url": "/openapi.json"}))]
pub struct ApiRootResponse {
    /// Service name.
    pub name: String,
    /// Version of the running build.
    pub version: String,
    /// Version of the API (the path prefix).
    pub api_version: String,
    /// Interactive documentation (Swagger UI).
    pub documentation_url: String,
    /// The OpenAPI document.
    pub openapi_url: String,
}

/// API root.
///
/// Names the service and the running build, and links to the documentation. Needs no authentication,
/// so clients can check which build they talk to.
#[utoipa::path(
    tag = "meta",
    operation_id = "get_api_root",
    security(()),
    responses((status = 200, description = "Service description.", body = ApiRootResponse))
)]
#[get("")]
pub async fn get_api_root() -> HttpResponse {
    HttpResponse::Ok().json(ApiRootResponse {
        name: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api_version: "v1".to_owned(),
        documentation_url: "/docs/".to_owned(),
        openapi_url: "/openapi.json".to_owned(),
    })
}
