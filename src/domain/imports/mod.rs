//! Bulk imports from spreadsheets (XLSX or CSV in the encodings Excel writes) or JSON arrays: how the province really loads 2,448 teams and
//! their members, and how national systems' indicator values arrive. A file becomes [`Row`]s; each
//! import plans every row against indexed in-memory maps of what exists (one query per table), reports
//! every bad row at once, then writes in batches in one transaction. Rows are matched by natural keys,
//! so importing the same file twice changes nothing. `atomic` mode (the default) writes nothing when any
//! row is bad, `per_row` writes the good rows; `dry_run` counts and writes nothing.

pub mod indicator_values;
pub mod members;
pub mod teams;
pub mod templates;

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::AuthUser,
    domain::validation::FieldErrors,
    error::{AppError, FieldError, Text},
    tabular::{Column, Kind, Sheet, read},
};

/// One problem in one row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"row": 7, "column": "role", "column_letter": "H", "header": "Vai trò",
    "code": "invalid_choice", "message": "must be leader, deputy or member"}))]
pub struct ImportRowError {
    /// The row as the spreadsheet shows it (the header is row 1, so row 2 is the first data row), or
    /// the position in the JSON array (from 1).
    pub row: usize,
    /// The field at fault (`null` for the row as a whole).
    pub column: Option<String>,
    /// The column's letter in the spreadsheet (`null` for JSON, or the row as a whole).
    pub column_letter: Option<String>,
    /// The column's header as the file wrote it.
    pub header: Option<String>,
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

/// A file to import: its media type (with any `charset`), its bytes, and the sheet to read (XLSX).
#[derive(Debug, Clone, Copy)]
pub struct ImportFile<'a> {
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub sheet: Option<&'a str>,
}

/// A file's rows, and where each field's column is in it (for errors people can find).
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub rows: Vec<Row>,
    /// Field -> (column letter, header as written).
    pub columns: HashMap<String, (String, String)>,
}

/// Text compared without case, surrounding space or Unicode form.
fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.trim().nfc().collect::<String>().to_lowercase()
}

/// Parses a JSON array, an XLSX file (the first sheet, or `sheet`) or a CSV (UTF-8, UTF-16 or
/// Windows-1258; comma, semicolon or tab) into rows of `kind`'s fields. Headers are read as the
/// fields' keys or their Vietnamese or English headers (what the XLSX export and the template write),
/// and enumerated cells as codes or labels in either language. A header without one of
/// `kind.required_columns` is refused whole (422 `missing_columns` on `body`): such a file is not this
/// import's, and reading it as zero rows would report success.
pub fn parse_rows(file: ImportFile<'_>, kind: &ImportKind) -> Result<ParsedFile, AppError> {
    let media = file
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == "application/json" {
        return parse_json(file.body);
    }
    let (grid, from_csv) = if media == crate::tabular::XLSX_MEDIA_TYPE {
        (read::read_xlsx(file.body, file.sheet)?, false)
    } else if matches!(
        media.as_str(),
        "text/csv" | "text/plain" | "text/tab-separated-values"
    ) {
        let charset = file.content_type.split(';').skip(1).find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("charset")).then(|| value.trim().trim_matches('"'))
        });
        (read::read_csv(&read::decode(file.body, charset)?)?, true)
    } else {
        return Err(read::unsupported());
    };
    rows_of(&grid, kind, from_csv)
}

fn parse_json(body: &[u8]) -> Result<ParsedFile, AppError> {
    let items: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(body).map_err(|error| AppError::from_json_error(&error))?;
    Ok(ParsedFile {
        rows: items
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
            .collect(),
        columns: HashMap::new(),
    })
}

/// The grid's rows as fields of `kind`.
fn rows_of(grid: &read::Grid, kind: &ImportKind, from_csv: bool) -> Result<ParsedFile, AppError> {
    let columns: Vec<Option<&Column>> = grid
        .header
        .iter()
        .map(|header| {
            let header = folded(header);
            kind.sheet.columns.iter().find(|column| {
                folded(column.key) == header
                    || folded(column.vi) == header
                    || folded(column.en) == header
            })
        })
        .collect();
    let keys: Vec<String> = grid
        .header
        .iter()
        .zip(&columns)
        .map(|(header, column)| column.map_or_else(|| folded(header), |c| c.key.to_owned()))
        .collect();
    let missing: Vec<&str> = kind
        .required_columns
        .iter()
        .copied()
        .filter(|column| !keys.iter().any(|key| key == column))
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
    for (number, cells) in &grid.rows {
        if cells.iter().all(read::Value::is_blank) {
            continue;
        }
        // Cells past the header would be dropped silently, and in a CSV usually mean a shifted row (an
        // unquoted comma): refuse the file rather than import the wrong columns.
        if from_csv && cells.iter().skip(keys.len()).any(|cell| !cell.is_blank()) {
            return Err(malformed_csv(
                *number,
                format!("{} cells, but the header has {}", cells.len(), keys.len()),
                format!("{} ô, nhưng dòng tiêu đề có {}", cells.len(), keys.len()),
            ));
        }
        rows.push(Row {
            number: *number,
            cells: keys
                .iter()
                .zip(&columns)
                .zip(cells)
                .map(|((key, column), cell)| {
                    let kind = column.map_or(Kind::Text, |c| c.kind);
                    (key.clone(), cell_text(cell, kind, from_csv))
                })
                .collect(),
        });
    }
    let columns = keys
        .iter()
        .zip(&grid.header)
        .enumerate()
        .map(|(index, (key, header))| {
            (
                key.clone(),
                (
                    read::column_letter(grid.first_column + index),
                    header.trim().to_owned(),
                ),
            )
        })
        .collect();
    Ok(ParsedFile { rows, columns })
}

/// A cell as the text the import rules read: numbers without a needless `.0`, dates as ISO, phone
/// numbers typed as numbers with their leading zero back, and labels of enumerations as their codes.
fn cell_text(cell: &read::Value, kind: Kind, from_csv: bool) -> String {
    let text = match cell {
        read::Value::Empty => String::new(),
        read::Value::Text(text) if from_csv => unprotect(text),
        read::Value::Text(text) => text.clone(),
        read::Value::Date(date) => date.to_string(),
        read::Value::Boolean(value) => value.to_string(),
        read::Value::Number(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            #[expect(clippy::cast_possible_truncation, reason = "whole and below 1e15")]
            let whole = *number as i64;
            match kind {
                Kind::Phone if (100_000_000..1_000_000_000).contains(&whole) => format!("0{whole}"),
                _ => whole.to_string(),
            }
        }
        read::Value::Number(number) => number.to_string(),
    };
    match kind {
        Kind::Choice(labels) => code_of(&text, labels),
        Kind::Choices(labels) => text
            .split(';')
            .map(|part| code_of(part, labels))
            .filter(|code| !code.is_empty())
            .collect::<Vec<_>>()
            .join(";"),
        _ => text,
    }
}

/// The code a cell names by its code or its Vietnamese or English label; the text as it was otherwise
/// (the import rules then name the choices).
fn code_of(text: &str, labels: &[crate::reference::Label]) -> String {
    let wanted = folded(text);
    labels
        .iter()
        .find(|label| {
            folded(label.code) == wanted
                || folded(label.name_vi) == wanted
                || folded(label.name_en) == wanted
        })
        .map_or_else(|| text.trim().to_owned(), |label| label.code.to_owned())
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
                column_letter: None,
                header: None,
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
        column_letter: None,
        header: None,
        code: code.to_owned(),
        message: message.into(),
    }
}

/// A date written `2025-07-01` or, as Vietnamese spreadsheets show them, `01/07/2025`.
pub fn parse_date(row: &Row, column: &str, errors: &mut Vec<ImportRowError>) -> Option<NaiveDate> {
    let value = row.get(column)?;
    match NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d/%m/%Y"))
    {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(row_error(
                row.number,
                Some(column),
                "invalid_date",
                "must be a date like 2025-07-01 or 01/07/2025",
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

/// One kind of import: the columns it reads (keys, headers in both languages, kinds: what the header
/// row may name, and what its template holds), the columns a header must have, and how its rows are
/// planned and written.
#[derive(Debug, Clone, Copy)]
pub struct ImportKind {
    pub sheet: &'static Sheet,
    pub required_columns: &'static [&'static str],
    pub plan: ImportRows,
}

/// Runs one import of `rows` by `plan` in a transaction that is kept only when the summary says
/// `committed` (a dry run, or an atomic import with bad rows, rolls back).
pub fn run(
    conn: &mut PgConnection,
    actor: &AuthUser,
    file: &ParsedFile,
    options: ImportOptions,
    plan: ImportRows,
) -> Result<ImportSummary, AppError> {
    let mut summary = run_rows(conn, actor, &file.rows, options, plan)?;
    for error in &mut summary.errors {
        if let Some((letter, header)) = error.column.as_ref().and_then(|c| file.columns.get(c)) {
            error.column_letter = Some(letter.clone());
            error.header = Some(header.clone());
        }
    }
    Ok(summary)
}

fn run_rows(
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
