//! Import templates: an XLSX with the import's header row, a drop-down on every enumerated column (the
//! vocabulary's labels, the same definitions `GET /api/v1/reference` lists; unit and team codes of the
//! caller's scope), date and number rules, phone cells kept as text, an instructions sheet, and the lists
//! on a hidden sheet the drop-downs point at. A file made from it cannot hold an invalid role.

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format, Formula,
    Workbook, XlsxError,
};

use super::{Column, Kind, Sheet, Spool, failed, temp_file, xlsx_file};
use crate::error::{AppError, Lang, Text};

/// Data rows the rules cover.
const RULE_ROWS: u32 = 10_000;

/// What goes into a template besides its columns.
#[derive(Debug, Clone)]
pub struct TemplateContent {
    /// The template's title (first line of the instructions).
    pub title: Text,
    /// The columns a row must fill.
    pub required: &'static [&'static str],
    /// The unit codes (with names) of the caller's scope, for [`Kind::UnitCode`] columns.
    pub units: Vec<(String, String)>,
    /// The team codes (with names) of the caller's scope, for [`Kind::TeamCode`] columns.
    pub teams: Vec<(String, String)>,
    /// How to send the file back.
    pub how_to_import: Text,
}

fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// The values of `column`'s drop-down, if it has one.
pub fn drop_down(column: &Column, content: &TemplateContent, lang: Lang) -> Option<Vec<String>> {
    match column.kind {
        Kind::Choice(labels) => Some(
            labels
                .iter()
                .map(|label| xlsx_file::label_text(label, lang).to_owned())
                .collect(),
        ),
        Kind::UnitCode => Some(content.units.iter().map(|(code, _)| code.clone()).collect()),
        Kind::TeamCode => Some(content.teams.iter().map(|(code, _)| code.clone()).collect()),
        _ => None,
    }
}

/// The template of `sheet`'s import in `lang`.
pub fn write_template(
    sheet: &Sheet,
    content: &TemplateContent,
    lang: Lang,
) -> Result<Spool, AppError> {
    let mut workbook = Workbook::new();
    build(&mut workbook, sheet, content, lang).map_err(failed)?;
    let mut file = std::io::BufWriter::new(temp_file()?);
    workbook.save_to_writer(&mut file).map_err(failed)?;
    let file = file.into_inner().map_err(|error| failed(error.error()))?;
    Spool::rewound(file)
}

fn build(
    workbook: &mut Workbook,
    sheet: &Sheet,
    content: &TemplateContent,
    lang: Lang,
) -> Result<(), XlsxError> {
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color(0x00DD_EBF7);
    let required_header = header.clone().set_font_color(0x00C0_0000);
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let text_cells = Format::new().set_num_format("@");
    let date_cells = Format::new().set_num_format("dd/mm/yyyy");
    let lists_name = pick(lang, "Danh mục", "Lists");

    // The data sheet: headers (required ones in red), widths, frozen header, rules per column.
    let data = workbook.add_worksheet();
    data.set_name(pick(lang, sheet.name.0, sheet.name.1))?;
    let mut lists: Vec<(String, Vec<String>)> = Vec::new();
    for (index, column) in sheet.columns.iter().enumerate() {
        let col = u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)?;
        let required = content.required.contains(&column.key);
        data.set_column_width(col, column.width)?;
        data.write_string_with_format(
            0,
            col,
            column.header(lang),
            if required { &required_header } else { &header },
        )?;
        let validation = match column.kind {
            Kind::Choice(_) | Kind::UnitCode | Kind::TeamCode => {
                let values = drop_down(column, content, lang).unwrap_or_default();
                let list_column = super::read::column_letter(lists.len());
                let last = values.len().max(1) + 1;
                lists.push((column.header(lang).to_owned(), values));
                let style = if column.key == "org_unit_code" && content.required.contains(&"code") {
                    // A team import may name a new village: warn, do not stop.
                    DataValidationErrorStyle::Warning
                } else {
                    DataValidationErrorStyle::Stop
                };
                Some(
                    DataValidation::new()
                        .allow_list_formula(Formula::new(format!(
                            "='{lists_name}'!${list_column}$2:${list_column}${last}"
                        )))
                        .set_error_style(style)
                        .set_error_title(pick(lang, "Giá trị không hợp lệ", "Not a valid value"))?
                        .set_error_message(pick(
                            lang,
                            "Hãy chọn một giá trị trong danh sách.",
                            "Choose a value from the list.",
                        ))?,
                )
            }
            Kind::Date => {
                data.set_column_format(col, &date_cells)?;
                Some(
                    DataValidation::new()
                        .allow_date(DataValidationRule::Between(
                            ExcelDateTime::from_ymd(2000, 1, 1)?,
                            ExcelDateTime::from_ymd(2100, 12, 31)?,
                        ))
                        .set_error_message(pick(
                            lang,
                            "Hãy nhập ngày, ví dụ 01/07/2025.",
                            "Enter a date, such as 01/07/2025.",
                        ))?,
                )
            }
            Kind::Integer => Some(
                DataValidation::new()
                    .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(0))
                    .set_error_message(pick(
                        lang,
                        "Hãy nhập số nguyên không âm.",
                        "Enter a whole number, 0 or more.",
                    ))?,
            ),
            Kind::Number => Some(
                DataValidation::new()
                    .allow_decimal_number(DataValidationRule::GreaterThanOrEqualTo(0.0))
                    .set_error_message(pick(
                        lang,
                        "Hãy nhập một số không âm.",
                        "Enter a number, 0 or more.",
                    ))?,
            ),
            Kind::Phone => {
                // Text, so that a leading zero stays.
                data.set_column_format(col, &text_cells)?;
                None
            }
            Kind::Text | Kind::Percent | Kind::Time | Kind::Boolean | Kind::Choices(_) => None,
        };
        if let Some(validation) = validation {
            data.add_data_validation(1, col, RULE_ROWS, col, &validation)?;
        }
    }
    data.set_freeze_panes(1, 0)?;

    // Instructions.
    let help = workbook.add_worksheet();
    help.set_name(pick(lang, "Hướng dẫn", "Instructions"))?;
    help.set_column_width(0, 30)?;
    help.set_column_width(1, 12)?;
    help.set_column_width(2, 80)?;
    help.write_string_with_format(0, 0, content.title.get(lang), &bold)?;
    let general = [
        pick(
            lang,
            "Điền mỗi dòng một bản ghi vào trang đầu tiên, từ dòng 2; giữ nguyên dòng tiêu đề.",
            "Fill one record per row on the first sheet, from row 2; keep the header row as it is.",
        ),
        pick(
            lang,
            "Cột có tiêu đề màu đỏ là bắt buộc. Cột có danh sách: chọn giá trị trong danh sách thả xuống.",
            "Columns with red headers are required. Columns with a list: choose from the drop-down.",
        ),
        pick(
            lang,
            "Ngày nhập dạng ngày (ví dụ 01/07/2025); số điện thoại giữ số 0 ở đầu.",
            "Enter dates as dates (such as 01/07/2025); phone numbers keep their leading zero.",
        ),
        content.how_to_import.get(lang),
    ];
    let mut row = 2;
    for line in general {
        help.write_string_with_format(row, 0, line, &Format::new())?;
        row += 1;
    }
    row += 1;
    for (col, title) in [
        pick(lang, "Cột", "Column"),
        pick(lang, "Bắt buộc", "Required"),
        pick(lang, "Nội dung", "What it holds"),
    ]
    .iter()
    .enumerate()
    {
        let col = u16::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
        help.write_string_with_format(row, col, *title, &header)?;
    }
    row += 1;
    for column in sheet.columns {
        help.write_string(row, 0, column.header(lang))?;
        if content.required.contains(&column.key) {
            help.write_string(row, 1, pick(lang, "Có", "Yes"))?;
        }
        help.write_string_with_format(row, 2, describe(column, lang), &wrap)?;
        row += 1;
    }

    // The lists the drop-downs point at, hidden.
    let lists_sheet = workbook.add_worksheet();
    lists_sheet.set_name(lists_name)?;
    for (index, (title, values)) in lists.iter().enumerate() {
        let col = u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)?;
        lists_sheet.set_column_width(col, 28)?;
        lists_sheet.write_string_with_format(0, col, title, &bold)?;
        for (offset, value) in values.iter().enumerate() {
            let r = u32::try_from(offset + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            lists_sheet.write_string(r, col, value)?;
        }
    }
    lists_sheet.set_hidden(true);
    Ok(())
}

/// What a column holds, for the instructions.
fn describe(column: &Column, lang: Lang) -> String {
    match (column.kind, lang) {
        (Kind::Choice(labels), _) => {
            let values: Vec<&str> = labels
                .iter()
                .map(|label| xlsx_file::label_text(label, lang))
                .collect();
            match lang {
                Lang::Vi => format!("Chọn một trong: {}", values.join("; ")),
                Lang::En => format!("One of: {}", values.join("; ")),
            }
        }
        (Kind::UnitCode, Lang::Vi) => {
            "Mã đơn vị hành chính trong phạm vi của bạn (chọn trong danh sách)".to_owned()
        }
        (Kind::UnitCode, Lang::En) => "The code of a unit in your scope (from the list)".to_owned(),
        (Kind::TeamCode, Lang::Vi) => {
            "Mã tổ trong phạm vi của bạn (chọn trong danh sách)".to_owned()
        }
        (Kind::TeamCode, Lang::En) => "The code of a team in your scope (from the list)".to_owned(),
        (Kind::Date, Lang::Vi) => "Ngày, ví dụ 01/07/2025".to_owned(),
        (Kind::Date, Lang::En) => "A date, such as 01/07/2025".to_owned(),
        (Kind::Integer, Lang::Vi) => "Số nguyên không âm".to_owned(),
        (Kind::Integer, Lang::En) => "A whole number, 0 or more".to_owned(),
        (Kind::Number, Lang::Vi) => "Số không âm".to_owned(),
        (Kind::Number, Lang::En) => "A number, 0 or more".to_owned(),
        (Kind::Phone, Lang::Vi) => "Số di động Việt Nam, ví dụ 0912 345 678".to_owned(),
        (Kind::Phone, Lang::En) => "A Vietnamese mobile number, such as 0912 345 678".to_owned(),
        (_, Lang::Vi) => "Văn bản".to_owned(),
        (_, Lang::En) => "Text".to_owned(),
    }
}
