//! Content negotiation (RFC 9110 section 12.5.1): a request whose `Accept` admits none of the media types
//! its operation answers with is refused with 406 `not_acceptable`, before the handler runs, naming the
//! types it could have had. What each operation produces is read from the OpenAPI document
//! ([`crate::openapi::ApiSpec::produces_at`]), so the check and the contract cannot disagree. Requests
//! without `Accept`, with `*/*`, or with an `Accept` that does not parse are served as before.

use actix_web::{
    Error,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{Accept, Header},
    middleware::Next,
    mime::{self, Mime},
    web,
};

use crate::{
    error::{AppError, ErrorCode, Text},
    openapi::ApiSpec,
};

/// The middleware function; install with `actix_web::middleware::from_fn(negotiate)`.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(refusal) = refusal(&req) {
        return Ok(req.error_response(refusal));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// The 406 for this request, if its `Accept` rules out everything its operation produces.
fn refusal(req: &ServiceRequest) -> Option<AppError> {
    if !req.headers().contains_key(actix_web::http::header::ACCEPT) {
        return None;
    }
    let spec = req.app_data::<web::Data<ApiSpec>>()?;
    let produced = spec.produces_at(
        req.path(),
        req.match_pattern().as_deref(),
        req.method().as_str(),
    )?;
    let accept = Accept::parse(req).ok()?;
    if produced.iter().any(|media| admits(&accept, media)) {
        return None;
    }
    let offered = produced
        .iter()
        .map(Mime::essence_str)
        .collect::<Vec<_>>()
        .join(", ");
    Some(
        AppError::new(ErrorCode::NotAcceptable).with_detail(Text::new(
            format!("This operation answers with {offered}; send an Accept header that admits one"),
            format!("Thao tác này trả về {offered}; hãy gửi Accept chấp nhận một trong số đó"),
        )),
    )
}

/// True when some range of `accept` with a quality above zero covers `media`.
fn admits(accept: &Accept, media: &Mime) -> bool {
    accept.iter().any(|range| {
        let wanted = &range.item;
        let quality_above_zero = range.quality > actix_web::http::header::Quality::ZERO;
        let type_matches = wanted.type_() == mime::STAR || wanted.type_() == media.type_();
        let subtype_matches = wanted.subtype() == mime::STAR || wanted.subtype() == media.subtype();
        let suffix_matches = wanted.subtype() == mime::STAR || wanted.suffix() == media.suffix();
        quality_above_zero && type_matches && subtype_matches && suffix_matches
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{http::header::Accept, mime::Mime, test::TestRequest};

    use super::admits;

    fn accept(value: &str) -> Accept {
        let req = TestRequest::default()
            .insert_header(("Accept", value))
            .to_http_request();
        actix_web::http::header::Header::parse(&req).unwrap()
    }

    fn json() -> Mime {
        "application/json".parse().unwrap()
    }

    #[test]
    fn ranges_and_qualities_decide() {
        assert!(admits(&accept("application/json"), &json()));
        assert!(admits(&accept("*/*"), &json()));
        assert!(admits(&accept("application/*"), &json()));
        assert!(admits(
            &accept("text/html, application/xhtml+xml, */*;q=0.8"),
            &json()
        ));
        assert!(!admits(&accept("text/csv"), &json()));
        assert!(!admits(&accept("image/png, text/*"), &json()));
        assert!(!admits(&accept("application/json;q=0"), &json()));
        let csv: Mime = "text/csv".parse().unwrap();
        assert!(admits(&accept("text/csv"), &csv));
        assert!(admits(&accept("text/*"), &csv));
    }
}
