//! Unit tests of the error type: the problem shape, the codes, the serde field mapping.

use super::*;

#[test]
fn serde_messages_name_the_field_wherever_the_value_sits() {
    use super::field_error_from_serde;
    let pairs = |at: Option<&str>, message: &str| {
        let error = field_error_from_serde(at, message);
        (error.field.into_owned(), error.code.into_owned())
    };
    assert_eq!(
        pairs(None, "missing field `kind` at line 1 column 2"),
        ("kind".to_owned(), "required".to_owned())
    );
    assert_eq!(
        pairs(Some("items[0].data"), "missing field `kind`"),
        ("items[0].data.kind".to_owned(), "required".to_owned())
    );
    assert_eq!(
        pairs(
            Some("items[0].data.colour"),
            "unknown field `colour`, expected `id`"
        ),
        (
            "items[0].data.colour".to_owned(),
            "unknown_field".to_owned()
        )
    );
    assert_eq!(
        pairs(None, "invalid type: string \"x\", expected i32"),
        ("body".to_owned(), "invalid_type".to_owned())
    );
}

#[test]
fn deadlocks_and_statement_timeouts_are_retryable() {
    use diesel::result::{DatabaseErrorKind, Error};
    for message in [
        "deadlock detected",
        "canceling statement due to statement timeout",
        "terminating connection due to administrator command",
    ] {
        let error = AppError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(message.to_owned()),
        ));
        assert_eq!(error.code(), ErrorCode::DatabaseUnavailable, "{message}");
        assert_eq!(error.status().as_u16(), 503);
    }
    // A write that reached a server being demoted during a failover.
    let demoted = AppError::from(Error::DatabaseError(
        DatabaseErrorKind::ReadOnlyTransaction,
        Box::new("cannot execute INSERT in a read-only transaction".to_owned()),
    ));
    assert_eq!(demoted.code(), ErrorCode::DatabaseUnavailable);
    let other = AppError::from(Error::DatabaseError(
        DatabaseErrorKind::Unknown,
        Box::new("division by zero".to_owned()),
    ));
    assert_eq!(other.code(), ErrorCode::Internal);
}

#[derive(Debug)]
struct Violation {
    message: &'static str,
    table: &'static str,
    constraint: &'static str,
}

impl diesel::result::DatabaseErrorInformation for Violation {
    fn message(&self) -> &str {
        self.message
    }
    fn details(&self) -> Option<&str> {
        None
    }
    fn hint(&self) -> Option<&str> {
        None
    }
    fn table_name(&self) -> Option<&str> {
        Some(self.table)
    }
    fn column_name(&self) -> Option<&str> {
        None
    }
    fn constraint_name(&self) -> Option<&str> {
        Some(self.constraint)
    }
    fn statement_position(&self) -> Option<i32> {
        None
    }
}

#[test]
fn input_the_database_refuses_is_a_4xx_not_a_500() {
    use diesel::result::{DatabaseErrorKind, Error};
    let violation = |kind, message, table, constraint| {
        AppError::from(Error::DatabaseError(
            kind,
            Box::new(Violation {
                message,
                table,
                constraint,
            }),
        ))
    };
    let check = violation(
        DatabaseErrorKind::CheckViolation,
        "new row for relation \"campaigns\" violates check constraint \"campaigns_code_check\"",
        "campaigns",
        "campaigns_code_check",
    );
    assert_eq!(check.status().as_u16(), 422);
    assert_eq!(check.field_errors()[0].field, "code");
    let reference = violation(
        DatabaseErrorKind::ForeignKeyViolation,
        "insert or update on table \"users\" violates foreign key constraint \"users_person_id_fkey\"",
        "users",
        "users_person_id_fkey",
    );
    assert_eq!(reference.status().as_u16(), 422);
    assert_eq!(reference.field_errors()[0].field, "person_id");
    assert_eq!(reference.field_errors()[0].code, "not_found");
    let referenced = violation(
        DatabaseErrorKind::ForeignKeyViolation,
        "update or delete on table \"people\" violates foreign key constraint \"memberships_person_id_fkey\"",
        "people",
        "memberships_person_id_fkey",
    );
    assert_eq!(referenced.code(), ErrorCode::Conflict);
    let nul = AppError::from(Error::DatabaseError(
        DatabaseErrorKind::Unknown,
        Box::new("invalid byte sequence for encoding \"UTF8\": 0x00".to_owned()),
    ));
    assert_eq!(nul.status().as_u16(), 422);
    assert_eq!(nul.field_errors()[0].code, "nul_character");
}

#[test]
fn error_codes_are_stable() {
    let codes: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "malformed_json",
            "invalid_query",
            "invalid_path",
            "invalid_body",
            "unauthorized",
            "forbidden",
            "not_found",
            "route_not_found",
            "method_not_allowed",
            "not_acceptable",
            "conflict",
            "precondition_failed",
            "payload_too_large",
            "unsupported_media_type",
            "validation_failed",
            "rate_limited",
            "invalid_credentials",
            "invalid_refresh_token",
            "refresh_token_reused",
            "idempotency_key_reused",
            "idempotency_in_progress",
            "period_locked",
            "session_verified",
            "period_signed_off",
            "sign_off_incomplete",
            "database_unavailable",
            "not_ready",
            "internal_error",
            "upload_offset_mismatch",
            "checksum_mismatch",
            "upload_gone",
            "upload_quota_exceeded",
            "range_not_satisfiable",
        ]
    );
}

#[test]
fn problem_json_shape_is_pinned() {
    let error = AppError::validation(vec![FieldError::new(
        "participants_female",
        "exceeds_total",
        Text::new(
            "must not exceed participants_total",
            "không được lớn hơn participants_total",
        ),
    )]);
    let json = serde_json::to_value(error.problem(Lang::En, Some("req-1"))).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "type": "/problems/validation_failed",
            "title": "Request body is invalid",
            "status": 422,
            "detail": "1 field is invalid",
            "code": "validation_failed",
            "request_id": "req-1",
            "errors": [{"field": "participants_female", "code": "exceeds_total",
                        "message": "must not exceed participants_total"}]
        })
    );
}

#[test]
fn internal_errors_never_show_their_cause() {
    let error = AppError::internal(anyhow::anyhow!("password=hunter2 in connection string"));
    let json = serde_json::to_string(&error.problem(Lang::En, None)).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    assert_eq!(
        error.cause_chain().as_deref(),
        Some("password=hunter2 in connection string")
    );
}

#[test]
fn vietnamese_is_chosen_by_accept_language() {
    assert_eq!(Lang::from_accept_language(Some("vi")), Lang::Vi);
    assert_eq!(
        Lang::from_accept_language(Some("vi-VN,vi;q=0.9,en;q=0.8")),
        Lang::Vi
    );
    assert_eq!(Lang::from_accept_language(Some("en;q=0.5, vi")), Lang::Vi);
    assert_eq!(Lang::from_accept_language(Some("en, vi;q=0.5")), Lang::En);
    assert_eq!(Lang::from_accept_language(Some("fr")), Lang::En);
    assert_eq!(Lang::from_accept_language(None), Lang::En);
    let title = AppError::new(ErrorCode::NotFound)
        .problem(Lang::Vi, None)
        .title;
    assert_eq!(title, "Không tìm thấy dữ liệu");
}
