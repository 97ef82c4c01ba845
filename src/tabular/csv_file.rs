//! CSV as the API has always written it: UTF-8 with a BOM (so Excel shows Vietnamese), the column keys
//! as the header row (the import format), codes and ISO dates, and cells that cannot run as formulas.

use std::io::{BufWriter, Write};

use super::{Cell, Sheet, Spool, TableWriter, failed, temp_file};
use crate::error::AppError;

/// A cell as written: text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a
/// leading apostrophe (OWASP's advice against CSV injection).
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Writes one CSV table into a temporary file.
pub(super) struct CsvWriter {
    writer: csv::Writer<BufWriter<std::fs::File>>,
    begun: bool,
}

impl std::fmt::Debug for CsvWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvWriter").finish_non_exhaustive()
    }
}

impl CsvWriter {
    pub(super) fn new() -> Result<Self, AppError> {
        let mut file = BufWriter::with_capacity(64 * 1024, temp_file()?);
        file.write_all(b"\xEF\xBB\xBF").map_err(failed)?;
        Ok(Self {
            writer: csv::Writer::from_writer(file),
            begun: false,
        })
    }

    fn write(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.writer
            .write_record(cells.iter().map(|cell| match cell {
                // Numbers are written as numbers (a negative count keeps its sign).
                Cell::Integer(_) | Cell::Number(_) | Cell::Percent(_) => cell.csv_text(),
                _ => neutralize(&cell.csv_text()),
            }))
            .map_err(failed)
    }
}

impl TableWriter for CsvWriter {
    fn begin(&mut self, sheet: &Sheet) -> Result<(), AppError> {
        if self.begun {
            return Err(failed("a CSV file holds one table"));
        }
        self.begun = true;
        self.writer
            .write_record(sheet.columns.iter().map(|column| column.key))
            .map_err(failed)
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.write(cells)
    }

    fn totals(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.write(cells)
    }

    fn finish(self: Box<Self>) -> Result<Spool, AppError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|error| failed(error.error()))?
            .into_inner()
            .map_err(|error| failed(error.error()))?;
        Spool::rewound(file)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::tabular::{Column, Kind};

    const COLUMNS: &[Column] = &[
        Column::new("name", "Tên", "Name", 20, Kind::Text),
        Column::new("note", "Ghi chú", "Note", 20, Kind::Text),
        Column::new("count", "Số", "Count", 8, Kind::Integer),
    ];

    #[test]
    fn formulas_are_neutralised_and_vietnamese_survives() {
        let mut writer: Box<dyn TableWriter> = Box::new(CsvWriter::new().unwrap());
        writer.begin(&Sheet::new("a", "a", COLUMNS)).unwrap();
        let row = crate::cells!["Tổ Chiềng Đông", "=cmd|' /C calc'!A0", -5_i64];
        writer.row(&row).unwrap();
        let mut spool = writer.finish().unwrap();
        let mut text = String::new();
        spool.file.read_to_string(&mut text).unwrap();
        assert_eq!(spool.len as usize, text.len());
        assert!(text.starts_with("\u{feff}name,note,count\n"));
        assert!(text.contains("Tổ Chiềng Đông"));
        assert!(text.contains("'=cmd"));
        assert!(text.contains(",-5\n"));
        assert_eq!(neutralize("-5"), "'-5");
        assert_eq!(neutralize("Bản Mòng"), "Bản Mòng");
    }
}
