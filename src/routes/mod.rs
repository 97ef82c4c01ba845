//! THE route table. Every documented operation is registered here with `.service(...)`, which is also
//! how it enters the OpenAPI document ([`crate::openapi`]). Domain resources live under the `/api/v1`
//! scope, one file per resource (`teams.rs` with `list_teams`, `find_team`, `create_team`, ...).
//!
//! Requests that match no route reach [`fallback`]: 405 with `Allow` when the path exists with other
//! methods, otherwise 404 `route_not_found`.

pub mod attachments;
pub mod audit_events;
pub mod auth;
pub mod bulk_review;
pub mod campaigns;
pub mod conditional;
pub mod docs;
pub mod export;
pub mod health;
pub mod imports;
pub mod indicator_values;
pub mod me;
pub mod members;
pub mod meta;
pub mod metrics;
pub mod org_unit_writes;
pub mod org_units;
pub mod people;
pub mod problems;
pub mod reach_activities;
pub mod reach_summary;
pub mod reference;
pub mod report_figures;
pub mod report_targets;
pub mod reports;
pub mod sign_offs;
pub mod sync;
pub mod sync_push;
pub mod targets;
pub mod teams;
pub mod training_sessions;
pub mod uploads;
pub mod users;
pub mod webhooks;

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::{
    error::{AppError, ErrorCode, Text},
    openapi::ApiSpec,
};

/// Registers every documented operation.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::check_health)
        .service(health::check_readiness)
        .service(metrics::get_metrics)
        .service(docs::get_openapi_document)
        .service(problems::get_problem_type)
        .service(
            scope::scope("/api/v1")
                .service(meta::get_api_root)
                .service(auth::login)
                .service(auth::refresh_session)
                .service(auth::logout)
                .service(me::get_me)
                .service(me::update_me)
                .service(me::change_my_password)
                .service(org_units::list_org_units)
                .service(org_units::find_org_unit)
                .service(org_units::list_org_unit_children)
                .service(org_unit_writes::create_org_unit)
                .service(org_unit_writes::update_org_unit)
                .service(org_unit_writes::reorganize_org_units)
                .service(users::list_users)
                .service(users::find_user)
                .service(users::create_user)
                .service(users::update_user)
                .service(users::reset_user_password)
                .service(audit_events::list_audit_events)
                .service(reference::get_reference)
                .service(teams::list_teams)
                .service(teams::find_team)
                .service(teams::create_team)
                .service(teams::update_team)
                .service(teams::dissolve_team)
                .service(members::list_team_members)
                .service(members::add_team_member)
                .service(members::update_team_member)
                .service(members::end_team_member)
                .service(people::list_people)
                .service(people::find_person)
                .service(people::erase_personal_data)
                .service(people::list_personal_data_reads)
                .service(imports::import_teams)
                .service(imports::import_members)
                .service(imports::get_import_template)
                // Before `/training-sessions/{id}` and `/reach-activities/{id}`, whose paths would match.
                .service(bulk_review::review_training_sessions)
                .service(bulk_review::review_reach_activities)
                .service(training_sessions::list_training_sessions)
                .service(training_sessions::find_training_session)
                .service(training_sessions::create_training_session)
                .service(training_sessions::update_training_session)
                .service(training_sessions::delete_training_session)
                .service(training_sessions::verify_training_session)
                .service(training_sessions::reject_training_session)
                .service(campaigns::list_campaigns)
                .service(campaigns::find_campaign)
                .service(campaigns::create_campaign)
                .service(campaigns::update_campaign)
                .service(reach_activities::list_reach_activities)
                .service(reach_activities::list_all_reach_activities)
                .service(reach_activities::create_reach_activity)
                .service(reach_activities::find_reach_activity)
                .service(reach_activities::update_reach_activity)
                .service(reach_activities::delete_reach_activity)
                .service(reach_activities::verify_reach_activity)
                .service(reach_activities::reject_reach_activity)
                .service(reach_summary::get_reach_summary)
                .service(targets::list_targets)
                .service(targets::find_target)
                .service(targets::create_target)
                .service(targets::update_target)
                .service(targets::delete_target)
                .service(indicator_values::import_indicator_values)
                .service(indicator_values::list_indicator_values)
                .service(report_figures::report_summary)
                .service(report_figures::report_breakdown)
                .service(report_figures::report_workbook)
                .service(report_targets::report_targets)
                .service(reports::report_dormant_teams)
                .service(sign_offs::list_sign_offs)
                .service(sign_offs::transition_sign_offs)
                .service(sign_offs::find_sign_off)
                .service(sign_offs::submit_sign_off)
                .service(sign_offs::accept_sign_off)
                .service(sign_offs::return_sign_off)
                .service(sign_offs::reopen_sign_off)
                .service(webhooks::list_webhooks)
                .service(webhooks::create_webhook)
                .service(webhooks::find_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::rotate_webhook_secret)
                .service(webhooks::test_webhook)
                .service(webhooks::list_webhook_deliveries)
                .service(webhooks::retry_webhook_delivery)
                .service(webhooks::replay_webhook)
                .service(uploads::describe_uploads)
                .service(uploads::create_upload)
                .service(uploads::get_upload_offset)
                .service(uploads::append_to_upload)
                .service(uploads::delete_upload)
                .service(attachments::list_session_attachments)
                .service(attachments::attach_to_session)
                .service(attachments::list_reach_activity_attachments)
                .service(attachments::attach_to_reach_activity)
                .service(attachments::find_attachment)
                .service(attachments::download_attachment)
                .service(attachments::get_attachment_thumbnail)
                .service(attachments::delete_attachment)
                .service(
                    // A push carries up to 500 records: a larger body limit than the rest.
                    scope::scope("/sync")
                        .app_data(crate::startup::json_config_with(sync_push::PUSH_BODY_LIMIT))
                        .service(sync::sync_pull)
                        .service(sync_push::sync_push)
                        .service(sync_push::list_sync_conflicts)
                        .service(sync_push::resolve_sync_conflict),
                ),
        );
}

/// Undocumented routes: the Swagger UI and its redirect.
pub fn configure_documentation_ui(cfg: &mut web::ServiceConfig) {
    cfg.service(docs::swagger_ui())
        .route("/docs", web::get().to(docs::redirect_to_docs));
}

/// The default service: 405 for a known path with the wrong method, 404 for everything else.
pub async fn fallback(
    req: HttpRequest,
    spec: web::Data<ApiSpec>,
) -> Result<HttpResponse, AppError> {
    Err(match req.match_pattern() {
        Some(pattern) => match spec.methods_at(req.path(), Some(&pattern)) {
            Some(methods) => AppError::method_not_allowed(methods),
            // Matched an undocumented route (the Swagger UI), which serves GET only.
            None => AppError::method_not_allowed(&["GET"]),
        },
        None => AppError::new(ErrorCode::RouteNotFound).with_detail(Text::new(
            format!("No endpoint at {}; see /docs/ for the API", req.path()),
            format!(
                "Không có địa chỉ {}; xem tài liệu API tại /docs/",
                req.path()
            ),
        )),
    })
}
