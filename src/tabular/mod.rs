//! Lists and reports as files for spreadsheets. One description of a table's columns ([`Column`]) writes
//! it as CSV (the machine format: codes, ISO dates, the header row the imports read) or as XLSX (for
//! people: typed cells, Vietnamese or English headers, labels instead of codes, a sheet saying what the
//! file holds), and tells the imports which header texts and labels map back to which codes. Files are
//! written to an unnamed temporary file ([`Spool`]) and streamed from there, so memory stays flat
//! whatever the number of rows and no database connection waits on a slow download.

mod csv_file;
pub mod read;
pub mod sheets;
pub mod template;
mod xlsx_file;

use std::io::{Seek, SeekFrom};

use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    error::{AppError, Lang, Text},
    reference::{FileFormat, Label, Vocabulary},
};

pub use csv_file::neutralize;

/// Media type of XLSX.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Media type of CSV as written.
pub const CSV_MEDIA_TYPE: &str = "text/csv; charset=utf-8";

/// What a column holds, which decides how a spreadsheet shows it and how an import reads it back.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    /// A phone number: text, but a number typed into a spreadsheet gets its leading zero back on import.
    Phone,
    /// The code of a unit (a drop-down of the units in the caller's scope in templates).
    UnitCode,
    /// The code of a team (a drop-down of the teams in the caller's scope in templates).
    TeamCode,
    Integer,
    /// A decimal number.
    Number,
    /// A share from 0 to 100 (a percentage cell in XLSX).
    Percent,
    Date,
    /// An instant, shown in Vietnam time in XLSX.
    Time,
    Boolean,
    /// One code of a vocabulary (its label in XLSX, a drop-down in templates).
    Choice(&'static [Label]),
    /// Codes of a vocabulary, `;`-separated.
    Choices(&'static [Label]),
}

/// One column: its key (the CSV header and the import's field), its headers for people, its width in
/// characters and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
    pub width: u16,
    pub kind: Kind,
}

impl Column {
    /// A column of `kind`.
    pub const fn new(
        key: &'static str,
        vi: &'static str,
        en: &'static str,
        width: u16,
        kind: Kind,
    ) -> Self {
        Self {
            key,
            vi,
            en,
            width,
            kind,
        }
    }

    /// The header people read.
    pub fn header(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Vi => self.vi,
            Lang::En => self.en,
        }
    }
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Integer(i64),
    Number(f64),
    /// A share from 0 to 100.
    Percent(f64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Boolean(bool),
    Choice(Label),
    Choices(Vec<Label>),
}

impl Cell {
    /// A vocabulary value.
    pub fn choice<V: Vocabulary>(value: V) -> Self {
        Self::Choice(value.label())
    }

    /// Several vocabulary values.
    pub fn choices<V: Vocabulary>(values: &[V]) -> Self {
        Self::Choices(values.iter().map(|value| value.label()).collect())
    }

    /// The cell as CSV text: codes, ISO dates, RFC 3339 instants.
    pub fn csv_text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(text) => text.clone(),
            Self::Integer(number) => number.to_string(),
            Self::Number(number) | Self::Percent(number) => number.to_string(),
            Self::Date(date) => date.to_string(),
            Self::Time(at) => at.to_rfc3339(),
            Self::Boolean(value) => value.to_string(),
            Self::Choice(label) => label.code.to_owned(),
            Self::Choices(labels) => labels
                .iter()
                .map(|label| label.code)
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<&String> for Cell {
    fn from(text: &String) -> Self {
        Self::Text(text.clone())
    }
}

impl From<i64> for Cell {
    fn from(number: i64) -> Self {
        Self::Integer(number)
    }
}

impl From<i32> for Cell {
    fn from(number: i32) -> Self {
        Self::Integer(number.into())
    }
}

impl From<f64> for Cell {
    fn from(number: f64) -> Self {
        Self::Number(number)
    }
}

impl From<NaiveDate> for Cell {
    fn from(date: NaiveDate) -> Self {
        Self::Date(date)
    }
}

impl From<DateTime<Utc>> for Cell {
    fn from(at: DateTime<Utc>) -> Self {
        Self::Time(at)
    }
}

impl From<bool> for Cell {
    fn from(value: bool) -> Self {
        Self::Boolean(value)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Empty, Into::into)
    }
}

/// A row's cells from values that convert: `cells![a, b, c]`.
#[macro_export]
macro_rules! cells {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::tabular::Cell::from($value)),*]
    };
}

/// What a file holds, written on its own sheet (XLSX): the report or list, its filters and period, who
/// asked and when.
#[derive(Debug, Clone)]
pub struct About {
    pub title: Text,
    /// Each filter or option with its value, as the request gave it.
    pub details: Vec<(Text, String)>,
    pub generated_by: String,
    pub generated_at: DateTime<Utc>,
}

/// One sheet of a file: its name and columns.
#[derive(Debug, Clone, Copy)]
pub struct Sheet {
    pub name: (&'static str, &'static str),
    pub columns: &'static [Column],
}

impl Sheet {
    /// A sheet named `vi` / `en`.
    pub const fn new(vi: &'static str, en: &'static str, columns: &'static [Column]) -> Self {
        Self {
            name: (vi, en),
            columns,
        }
    }
}

/// A file being written, sheet by sheet and row by row, into a [`Spool`].
pub trait TableWriter {
    /// Starts a sheet (CSV holds one).
    fn begin(&mut self, sheet: &Sheet) -> Result<(), AppError>;
    /// Writes one row of the current sheet.
    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError>;
    /// Writes a totals row (bold in XLSX).
    fn totals(&mut self, cells: &[Cell]) -> Result<(), AppError>;
    /// Writes the file out.
    fn finish(self: Box<Self>) -> Result<Spool, AppError>;
}

/// A new writer of `format` (CSV or XLSX; JSON is not a file) in `lang`, describing itself by `about`.
pub fn writer(
    format: FileFormat,
    lang: Lang,
    about: &About,
) -> Result<Box<dyn TableWriter + Send>, AppError> {
    match format {
        FileFormat::Xlsx => Ok(Box::new(xlsx_file::XlsxWriter::new(lang, about.clone())?)),
        FileFormat::Csv | FileFormat::Json => Ok(Box::new(csv_file::CsvWriter::new()?)),
    }
}

/// A written file: an unnamed temporary file (gone when dropped) read from the start, and its length.
#[derive(Debug)]
pub struct Spool {
    pub file: std::fs::File,
    pub len: u64,
}

impl Spool {
    /// The spool of a file just written.
    pub(crate) fn rewound(mut file: std::fs::File) -> Result<Self, AppError> {
        let len = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
        file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
        Ok(Self { file, len })
    }
}

/// An unnamed temporary file for a spool (under the system's temporary directory).
pub(crate) fn temp_file() -> Result<std::fs::File, AppError> {
    tempfile::tempfile().map_err(AppError::internal)
}

/// Converts a writer's error into a 500.
pub(crate) fn failed(error: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("writing a file: {error}"))
}
