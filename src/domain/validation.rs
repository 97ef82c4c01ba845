//! Collecting every invalid field of a request before answering 422, and normalising text.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, FieldError, Text};

/// The field errors of one request.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` broke `code`.
    pub fn add(
        &mut self,
        field: impl Into<Cow<'static, str>>,
        code: &'static str,
        en: impl Into<Cow<'static, str>>,
        vi: impl Into<Cow<'static, str>>,
    ) {
        self.0.push(FieldError::new(field, code, Text::new(en, vi)));
    }

    /// Checks that `value` has `min..=max` characters.
    pub fn check_length(&mut self, field: &'static str, value: &str, min: usize, max: usize) {
        let length = value.chars().count();
        if !(min..=max).contains(&length) {
            self.add(
                field,
                "length",
                format!("must be {min} to {max} characters"),
                format!("phải từ {min} đến {max} ký tự"),
            );
        }
    }

    /// Checks that optional text has at most `max` characters.
    pub fn check_max_length(&mut self, field: &'static str, value: Option<&str>, max: usize) {
        if value.is_some_and(|v| v.chars().count() > max) {
            self.add(
                field,
                "length",
                format!("must be at most {max} characters"),
                format!("tối đa {max} ký tự"),
            );
        }
    }

    /// Checks that an optional count is not negative.
    pub fn check_not_negative(&mut self, field: &'static str, value: Option<i32>) {
        if value.is_some_and(|v| v < 0) {
            self.add(field, "negative", "must not be negative", "không được âm");
        }
    }

    /// The recorded errors, to join a list collected elsewhere.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// 422 with every recorded error, or `Ok` when there is none.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}

/// Trimmed and NFC-normalised text, as Vietnamese text is stored.
pub fn normalized(text: &str) -> String {
    text.trim().nfc().collect()
}

/// Optional text a person typed, [`normalized`]; blank is absent.
pub fn normalized_optional(text: Option<&str>) -> Option<String> {
    text.map(normalized).filter(|t| !t.is_empty())
}

/// Longest accepted search term (`q`), in characters.
pub const MAX_SEARCH_TERM: usize = crate::contract::SEARCH_TERM_MAX;

/// Deserializes a search term (`q`): blank means no search; longer than [`MAX_SEARCH_TERM`]
/// characters is refused (400 `invalid_query`), since no name is that long and every extra character
/// costs a comparison per row.
pub fn search_term<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let term: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match term {
        Some(term) if term.chars().count() > MAX_SEARCH_TERM => Err(serde::de::Error::custom(
            format!("q must be at most {MAX_SEARCH_TERM} characters"),
        )),
        Some(term) if term.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Normalises a Vietnamese mobile number to `+84` followed by its nine national digits.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = digits
        .strip_prefix("+84")
        .or_else(|| digits.strip_prefix("84").filter(|rest| rest.len() == 9))
        .or_else(|| digits.strip_prefix('0'))?;
    let valid = national.len() == 9
        && national.chars().all(|c| c.is_ascii_digit())
        && matches!(national.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
    valid.then(|| format!("+84{national}"))
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`).
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
