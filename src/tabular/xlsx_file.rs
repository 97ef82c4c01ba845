//! XLSX for people: a sheet per table with a bold, frozen header row and an autofilter, typed cells
//! (dates as dates, counts as numbers, shares as percentages, instants in Vietnam time), labels instead
//! of codes, and a last sheet saying what the file holds. Data sheets are written in rust_xlsxwriter's
//! constant-memory mode (each row goes to a temporary file as it is written), so a 100,000-row list does
//! not grow the server.

use std::io::BufWriter;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::{About, Cell, Column, Sheet, Spool, TableWriter, failed, temp_file};
use crate::error::{AppError, Lang};

/// The formats cells are written with.
struct Formats {
    header: Format,
    date: Format,
    time: Format,
    percent: Format,
    total: Format,
    total_percent: Format,
    title: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Top)
                .set_background_color(0x00DD_EBF7),
            date: Format::new().set_num_format("dd/mm/yyyy"),
            time: Format::new().set_num_format("dd/mm/yyyy hh:mm"),
            percent: Format::new().set_num_format("0.0%"),
            total: Format::new().set_bold(),
            total_percent: Format::new().set_bold().set_num_format("0.0%"),
            title: Format::new().set_bold().set_font_size(14),
        }
    }
}

/// A data sheet being written.
struct Current {
    index: usize,
    /// The next row to write (row 0 is the header).
    row: u32,
    columns: usize,
    name: String,
}

pub(super) struct XlsxWriter {
    workbook: Workbook,
    lang: Lang,
    about: About,
    formats: Formats,
    current: Option<Current>,
    /// Each finished sheet's name and number of rows.
    written: Vec<(String, u32)>,
}

impl std::fmt::Debug for XlsxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxWriter").finish_non_exhaustive()
    }
}

impl XlsxWriter {
    pub(super) fn new(lang: Lang, about: About) -> Result<Self, AppError> {
        Ok(Self {
            workbook: Workbook::new(),
            lang,
            about,
            formats: Formats::new(),
            current: None,
            written: Vec::new(),
        })
    }

    /// Adds the autofilter over what the current sheet holds and records its size.
    fn close_sheet(&mut self) -> Result<(), AppError> {
        let Some(current) = self.current.take() else {
            return Ok(());
        };
        let sheet = self
            .workbook
            .worksheet_from_index(current.index)
            .map_err(failed)?;
        let last_column = u16::try_from(current.columns.saturating_sub(1)).map_err(failed)?;
        sheet
            .autofilter(0, 0, current.row.saturating_sub(1).max(1), last_column)
            .map_err(failed)?;
        self.written
            .push((current.name, current.row.saturating_sub(1)));
        Ok(())
    }

    fn write(&mut self, cells: &[Cell], total: bool) -> Result<(), AppError> {
        let current = self
            .current
            .as_mut()
            .ok_or_else(|| failed("a row before its sheet"))?;
        let sheet = self
            .workbook
            .worksheet_from_index(current.index)
            .map_err(failed)?;
        for (index, cell) in cells.iter().enumerate() {
            let column = u16::try_from(index).map_err(failed)?;
            write_cell(
                sheet,
                &self.formats,
                self.lang,
                current.row,
                column,
                cell,
                total,
            )
            .map_err(failed)?;
        }
        current.row += 1;
        Ok(())
    }

    /// The sheet saying what the file holds.
    fn write_about(&mut self) -> Result<(), AppError> {
        let lang = self.lang;
        let about = self.about.clone();
        let written = self.written.clone();
        let title_format = self.formats.title.clone();
        let label_format = self.formats.total.clone();
        let time_format = self.formats.time.clone();
        let sheet = self.workbook.add_worksheet();
        sheet
            .set_name(pick(lang, "Thông tin", "About"))
            .map_err(failed)?;
        sheet.set_column_width(0, 34).map_err(failed)?;
        sheet.set_column_width(1, 60).map_err(failed)?;
        sheet
            .write_string_with_format(0, 0, about.title.get(lang), &title_format)
            .map_err(failed)?;
        let mut row = 2;
        for (label, value) in &about.details {
            sheet
                .write_string_with_format(row, 0, label.get(lang), &label_format)
                .map_err(failed)?;
            sheet.write_string(row, 1, value).map_err(failed)?;
            row += 1;
        }
        for (name, rows) in &written {
            let label = match lang {
                Lang::Vi => format!("Số dòng của trang «{name}»"),
                Lang::En => format!("Rows on sheet “{name}”"),
            };
            sheet
                .write_string_with_format(row, 0, label, &label_format)
                .map_err(failed)?;
            sheet
                .write_number(row, 1, f64::from(*rows))
                .map_err(failed)?;
            row += 1;
        }
        sheet
            .write_string_with_format(
                row,
                0,
                pick(lang, "Người tạo", "Generated by"),
                &label_format,
            )
            .map_err(failed)?;
        sheet
            .write_string(row, 1, &about.generated_by)
            .map_err(failed)?;
        row += 1;
        sheet
            .write_string_with_format(
                row,
                0,
                pick(
                    lang,
                    "Thời điểm tạo (giờ Việt Nam)",
                    "Generated at (Vietnam time)",
                ),
                &label_format,
            )
            .map_err(failed)?;
        sheet
            .write_datetime_with_format(row, 1, vietnam_time(about.generated_at), &time_format)
            .map_err(failed)?;
        row += 2;
        sheet
            .write_string(
                row,
                0,
                pick(
                    lang,
                    "Ngày giờ trong tệp là giờ Việt Nam (UTC+7). Tệp do cdt-api tạo.",
                    "Dates and times in this file are Vietnam time (UTC+7). Written by cdt-api.",
                ),
            )
            .map_err(failed)?;
        Ok(())
    }
}

fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// An instant as Vietnam's wall-clock time.
fn vietnam_time(at: DateTime<Utc>) -> NaiveDateTime {
    (at + crate::domain::VIETNAM_OFFSET).naive_utc()
}

fn write_cell(
    sheet: &mut Worksheet,
    formats: &Formats,
    lang: Lang,
    row: u32,
    column: u16,
    cell: &Cell,
    total: bool,
) -> Result<(), XlsxError> {
    let plain = total.then_some(&formats.total);
    match cell {
        Cell::Empty => {}
        Cell::Text(text) => {
            match plain {
                Some(format) => sheet.write_string_with_format(row, column, text, format)?,
                None => sheet.write_string(row, column, text)?,
            };
        }
        Cell::Integer(number) => {
            #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
            let number = *number as f64;
            match plain {
                Some(format) => sheet.write_number_with_format(row, column, number, format)?,
                None => sheet.write_number(row, column, number)?,
            };
        }
        Cell::Number(number) => {
            match plain {
                Some(format) => sheet.write_number_with_format(row, column, *number, format)?,
                None => sheet.write_number(row, column, *number)?,
            };
        }
        Cell::Percent(share) => {
            let format = if total {
                &formats.total_percent
            } else {
                &formats.percent
            };
            sheet.write_number_with_format(row, column, share / 100.0, format)?;
        }
        Cell::Date(date) => {
            sheet.write_datetime_with_format(row, column, date, &formats.date)?;
        }
        Cell::Time(at) => {
            sheet.write_datetime_with_format(row, column, vietnam_time(*at), &formats.time)?;
        }
        Cell::Boolean(value) => {
            sheet.write_boolean(row, column, *value)?;
        }
        Cell::Choice(label) => {
            sheet.write_string(row, column, label_text(label, lang))?;
        }
        Cell::Choices(labels) => {
            let text = labels
                .iter()
                .map(|label| label_text(label, lang))
                .collect::<Vec<_>>()
                .join("; ");
            sheet.write_string(row, column, text)?;
        }
    }
    Ok(())
}

/// A vocabulary value as people read it.
pub(super) fn label_text(label: &crate::reference::Label, lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => label.name_vi,
        Lang::En => label.name_en,
    }
}

/// Writes a header row of `columns` in `lang` at row 0 with widths, frozen and bold.
pub(super) fn write_header(
    sheet: &mut Worksheet,
    columns: &[Column],
    lang: Lang,
    format: &Format,
) -> Result<(), XlsxError> {
    for (index, column) in columns.iter().enumerate() {
        let index = u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.set_column_width(index, column.width)?;
        sheet.write_string_with_format(0, index, column.header(lang), format)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

impl TableWriter for XlsxWriter {
    fn begin(&mut self, sheet: &Sheet) -> Result<(), AppError> {
        self.close_sheet()?;
        let lang = self.lang;
        let name = pick(lang, sheet.name.0, sheet.name.1);
        let header = self.formats.header.clone();
        let worksheet = self
            .workbook
            .add_worksheet_with_constant_memory()
            .map_err(failed)?;
        worksheet.set_name(name).map_err(failed)?;
        write_header(worksheet, sheet.columns, lang, &header).map_err(failed)?;
        self.current = Some(Current {
            index: self.written.len(),
            row: 1,
            columns: sheet.columns.len(),
            name: name.to_owned(),
        });
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.write(cells, false)
    }

    fn totals(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.write(cells, true)
    }

    fn finish(mut self: Box<Self>) -> Result<Spool, AppError> {
        self.close_sheet()?;
        self.write_about()?;
        let mut file = BufWriter::with_capacity(64 * 1024, temp_file()?);
        self.workbook.save_to_writer(&mut file).map_err(failed)?;
        let file = file.into_inner().map_err(|error| failed(error.error()))?;
        Spool::rewound(file)
    }
}
