//! Bulk imports from spreadsheets (CSV) or JSON arrays: how the province really loads 2,448 teams and
//! their members, and how national systems' indicator values arrive. A file becomes [`Row`]s; each
//! import plans every row against indexed in-memory maps of what exists (one query per table), reports
//! every bad row at once, then writes in batches in one transaction. Rows are matched by natural keys,
//! so importing the same file twice changes nothing. `atomic` mode (the default) writes nothing when any
//! row is bad, `per_row` writes the good rows; `dry_run` counts and writes nothing.

pub mod indicator_values;
pub mod members;
pub mod teams;

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::AuthUser,
    domain::validation::FieldErrors,
    error::{AppError, ErrorCode, FieldError, Text},
};

/// One problem in one row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImportRowError {
    /// Line in the CSV file (the header is line 1), or position in the JSON array (from 1).
    pub row: usize,
    /// The column at fault (`null` for the row as a whole).
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"dry_run": false, "committed": true, "created": 2448, "updated": 0, "unchanged": 0,
    "units_created": 2373, "errors": []}))]
pub struct ImportSummary {
    pub dry_run: bool,
    /// True when the rows counted were written.
    pub committed: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Villages created because the file named them (team imports).
    pub units_created: usize,
    /// Every bad row, all at once.
    pub errors: Vec<ImportRowError>,
}

/// A row of the file: column -> text, with its row number.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub cells: HashMap<String, String>,
}

impl Row {
    /// The trimmed text of `column`; blank is absent.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(String::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// A value as exported (a leading apostrophe protects formulas in spreadsheets) back to its text.
fn unprotect(value: &str) -> String {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_owned(),
        _ => value.to_owned(),
    }
}

/// Parses a CSV (UTF-8, optional BOM, comma or semicolon) or JSON-array body into rows.
/// A CSV header without one of `required` is refused whole (422 `missing_columns` on `body`): such a
/// file is not this import's, and reading it as zero rows would report success.
pub fn parse_rows(
    content_type: &str,
    body: &[u8],
    required: &[&str],
) -> Result<Vec<Row>, AppError> {
    if content_type.starts_with("application/json") {
        let items: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(body).map_err(|error| AppError::from_json_error(&error))?;
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Row {
                number: index + 1,
                cells: item
                    .into_iter()
                    .filter_map(|(key, value)| {
                        let text = match value {
                            serde_json::Value::Null => return None,
                            serde_json::Value::String(text) => text,
                            other => other.to_string(),
                        };
                        Some((key.trim().to_lowercase(), text))
                    })
                    .collect(),
            })
            .collect());
    }
    if !content_type.starts_with("text/csv") {
        return Err(
            AppError::new(ErrorCode::UnsupportedMediaType).with_detail(Text::new(
                "Send text/csv or application/json",
                "Hãy gửi text/csv hoặc application/json",
            )),
        );
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        AppError::validation(vec![FieldError::new(
            "body",
            "not_utf8",
            Text::new("must be UTF-8 text", "phải là văn bản UTF-8"),
        )])
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| unreadable_csv(1, &error))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|column| !headers.iter().any(|h| h == column))
        .collect();
    if !missing.is_empty() {
        let missing = missing.join(", ");
        return Err(AppError::validation(vec![FieldError::new(
            "body",
            "missing_columns",
            Text::new(
                format!("the header row lacks the columns {missing}"),
                format!("dòng tiêu đề thiếu các cột {missing}"),
            ),
        )]));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error
                .position()
                .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
            unreadable_csv(line, &error)
        })?;
        let number = record
            .position()
            .map_or(rows.len() + 2, |p| usize::try_from(p.line()).unwrap_or(0));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        // Cells past the header would be dropped silently, and usually mean a shifted row (an
        // unquoted comma): refuse the file rather than import the wrong columns.
        if record
            .iter()
            .skip(headers.len())
            .any(|cell| !cell.trim().is_empty())
        {
            return Err(malformed_csv(
                number,
                format!(
                    "{} cells, but the header has {}",
                    record.len(),
                    headers.len()
                ),
                format!(
                    "{} ô, nhưng dòng tiêu đề có {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        rows.push(Row {
            number,
            cells: headers
                .iter()
                .cloned()
                .zip(record.iter().map(unprotect))
                .collect(),
        });
    }
    Ok(rows)
}

fn unreadable_csv(line: usize, error: &csv::Error) -> AppError {
    malformed_csv(line, error, format!("CSV không hợp lệ ({error})"))
}

/// 422 `malformed_csv` for `line`, saying what is wrong with it in English and Vietnamese.
fn malformed_csv(line: usize, en: impl std::fmt::Display, vi: impl std::fmt::Display) -> AppError {
    AppError::validation(vec![FieldError::new(
        "body",
        "malformed_csv",
        Text::new(format!("line {line}: {en}"), format!("dòng {line}: {vi}")),
    )])
}

pub(super) fn row_errors(row: usize, errors: FieldErrors) -> Vec<ImportRowError> {
    match errors.finish() {
        Ok(()) => Vec::new(),
        Err(error) => error
            .field_errors()
            .iter()
            .map(|e| ImportRowError {
                row,
                column: Some(e.field.to_string()),
                code: e.code.to_string(),
                message: e.message.en.to_string(),
            })
            .collect(),
    }
}

pub fn row_error(
    row: usize,
    column: Option<&str>,
    code: &str,
    message: impl Into<String>,
) -> ImportRowError {
    ImportRowError {
        row,
        column: column.map(str::to_owned),
        code: code.to_owned(),
        message: message.into(),
    }
}

pub fn parse_date(row: &Row, column: &str, errors: &mut Vec<ImportRowError>) -> Option<NaiveDate> {
    let value = row.get(column)?;
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(row_error(
                row.number,
                Some(column),
                "invalid_date",
                "must be a date like 2025-07-01",
            ));
            None
        }
    }
}

pub(super) fn parse_number<T: std::str::FromStr>(
    row: &Row,
    column: &str,
    errors: &mut Vec<ImportRowError>,
) -> Option<T> {
    let value = row.get(column)?;
    match value.parse::<T>() {
        Ok(number) => Some(number),
        Err(_) => {
            errors.push(row_error(
                row.number,
                Some(column),
                "invalid_number",
                "must be a whole number",
            ));
            None
        }
    }
}

/// How an import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Check and count, write nothing.
    pub dry_run: bool,
    /// Any bad row rejects the whole file (`atomic`), or good rows are written (`per_row`).
    pub atomic: bool,
}

impl ImportOptions {
    /// The options from `dry_run` and `mode` (`atomic`, the default, or `per_row`).
    pub fn parse(
        dry_run: Option<bool>,
        mode: Option<&crate::reference::Choice<crate::reference::ImportMode>>,
    ) -> Result<Self, AppError> {
        let mut errors = FieldErrors::new();
        let mode = crate::reference::check_choice(&mut errors, "mode", mode);
        errors.finish()?;
        Ok(Self {
            dry_run: dry_run.unwrap_or(false),
            atomic: mode != Some(crate::reference::ImportMode::PerRow),
        })
    }
}

/// Plans and writes the rows of one import (call through [`run`]).
pub type ImportRows =
    fn(&mut PgConnection, &AuthUser, &[Row], ImportOptions) -> Result<ImportSummary, AppError>;

/// One kind of import: the columns a CSV header must have, and how its rows are planned and written.
#[derive(Debug, Clone, Copy)]
pub struct ImportKind {
    pub required_columns: &'static [&'static str],
    pub plan: ImportRows,
}

/// Runs one import of `rows` by `plan` in a transaction that is kept only when the summary says
/// `committed` (a dry run, or an atomic import with bad rows, rolls back).
pub fn run(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    options: ImportOptions,
    plan: ImportRows,
) -> Result<ImportSummary, AppError> {
    enum Outcome {
        RolledBack(ImportSummary),
        Failed(AppError),
    }
    impl From<diesel::result::Error> for Outcome {
        fn from(error: diesel::result::Error) -> Self {
            Self::Failed(error.into())
        }
    }
    let result = conn.transaction::<ImportSummary, Outcome, _>(|conn| {
        let summary = plan(conn, actor, rows, options).map_err(Outcome::Failed)?;
        if summary.committed {
            Ok(summary)
        } else {
            Err(Outcome::RolledBack(summary))
        }
    });
    match result {
        Ok(summary) | Err(Outcome::RolledBack(summary)) => Ok(summary),
        Err(Outcome::Failed(error)) => Err(error),
    }
}
