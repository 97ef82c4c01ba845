//! Content negotiation (RFC 9110 section 12.5.1): a request whose `Accept` admits none of the media types
//! its operation answers with is refused with 406 `not_acceptable`, before the handler runs, naming the
//! types it could have had. What each operation produces is read from the OpenAPI document
//! ([`crate::openapi::ApiSpec::produces_at`]), so the check and the contract cannot disagree. Requests
//! without `Accept`, with `*/*`, or with an `Accept` that does not parse are served as before.

use actix_web::{
    Error,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{Accept, Header, Quality},
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

/// True when `accept` gives `media` a quality above zero.
fn admits(accept: &Accept, media: &Mime) -> bool {
    quality(accept, media).is_some_and(|(quality, _)| quality > Quality::ZERO)
}

/// The quality `accept` gives `media` and the position of the range that gave it: of the
/// ranges covering `media`, the most specific one decides (RFC 9110 section 12.5.1), so
/// `text/csv;q=0, */*` rules CSV out and admits everything else. `None` when no range covers it.
pub fn quality(accept: &Accept, media: &Mime) -> Option<(Quality, usize)> {
    accept
        .iter()
        .enumerate()
        .filter_map(|(position, range)| {
            let wanted = &range.item;
            let specificity = if wanted.type_() == mime::STAR {
                0
            } else if wanted.type_() != media.type_() {
                return None;
            } else if wanted.subtype() == mime::STAR {
                1
            } else if wanted.subtype() == media.subtype() && wanted.suffix() == media.suffix() {
                2
            } else {
                return None;
            };
            Some((specificity, range.quality, position))
        })
        .max_by_key(|(specificity, _, position)| (*specificity, std::cmp::Reverse(*position)))
        .map(|(_, quality, position)| (quality, position))
}

/// Which of `offered` (in the server's order of preference) the request's `Accept` prefers: the highest
/// quality, then the range listed first, then the server's order. No `Accept`, or one that does not
/// parse, gets the first; `None` when `Accept` rules every one out.
pub fn preferred<'a, T>(req: &actix_web::HttpRequest, offered: &'a [(T, Mime)]) -> Option<&'a T> {
    if !req.headers().contains_key(actix_web::http::header::ACCEPT) {
        return offered.first().map(|(value, _)| value);
    }
    let Ok(accept) = Accept::parse(req) else {
        return offered.first().map(|(value, _)| value);
    };
    offered
        .iter()
        .enumerate()
        .filter_map(|(order, (value, media))| {
            let (quality, position) = quality(&accept, media)?;
            (quality > Quality::ZERO).then_some((quality, position, order, value))
        })
        .max_by_key(|(quality, position, order, _)| {
            (
                *quality,
                std::cmp::Reverse(*position),
                std::cmp::Reverse(*order),
            )
        })
        .map(|(_, _, _, value)| value)
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
        // The most specific range decides.
        assert!(!admits(&accept("text/csv;q=0, */*"), &csv));
        assert!(admits(&accept("text/csv;q=0, */*"), &json()));
        assert!(!admits(&accept("application/json;q=0, */*"), &json()));
    }
}
