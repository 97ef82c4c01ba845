//! Reading the files officers have: XLSX (the first sheet, or a named one, read with calamine) and CSV in
//! UTF-8 (with or without a BOM), UTF-16 (Excel's "Unicode text", tab-separated) or Windows-1258 (what
//! older Excel in Vietnamese Windows saves as "CSV"), told apart by the `charset` the client names, else
//! the byte-order mark, else the bytes themselves ([`decode`]). Either way the result is a [`Grid`]: the
//! header row and the data rows, each cell where the spreadsheet shows it.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::NaiveDate;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1258};
use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, ErrorCode, FieldError, Text};

/// A cell as read: text from CSV, typed values from XLSX.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Boolean(bool),
}

impl Value {
    /// Blank text or an empty cell.
    pub fn is_blank(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// A table read from a file: where it starts, its header and its rows.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The row number (as the spreadsheet shows it, from 1) of the header.
    pub header_row: usize,
    /// The column index (0 is `A`) of the first column.
    pub first_column: usize,
    pub header: Vec<String>,
    /// Each data row with its number as the spreadsheet shows it.
    pub rows: Vec<(usize, Vec<Value>)>,
}

/// The column letters of a zero-based index: `A`, ..., `Z`, `AA`, ...
pub fn column_letter(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rest = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rest).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// 422 on `field` with `code`.
fn refuse(field: &'static str, code: &'static str, en: String, vi: String) -> AppError {
    AppError::validation(vec![FieldError::new(field, code, Text::new(en, vi))])
}

/// The first sheet of an XLSX file, or the one named `sheet`.
pub fn read_xlsx(body: &[u8], sheet: Option<&str>) -> Result<Grid, AppError> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).map_err(|error| {
        refuse(
            "body",
            "malformed_xlsx",
            format!("not a readable XLSX file ({error})"),
            format!("không đọc được tệp XLSX ({error})"),
        )
    })?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|name| name.trim().to_lowercase() == wanted.trim().to_lowercase())
            .cloned()
            .ok_or_else(|| {
                let list = names.join(", ");
                refuse(
                    "sheet",
                    "not_found",
                    format!("the file has no sheet named {wanted:?}; it has {list}"),
                    format!("tệp không có trang tính {wanted:?}; chỉ có {list}"),
                )
            })?,
        None => names.first().cloned().ok_or_else(|| {
            refuse(
                "body",
                "malformed_xlsx",
                "the file has no sheet".to_owned(),
                "tệp không có trang tính nào".to_owned(),
            )
        })?,
    };
    let range = workbook.worksheet_range(&name).map_err(|error| {
        refuse(
            "body",
            "malformed_xlsx",
            format!("sheet {name:?} cannot be read ({error})"),
            format!("không đọc được trang tính {name:?} ({error})"),
        )
    })?;
    let (start_row, start_column) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate();
    let header = rows
        .next()
        .map(|(_, row)| row.iter().map(header_text).collect())
        .unwrap_or_default();
    let first_row = usize::try_from(start_row).unwrap_or(0) + 1;
    Ok(Grid {
        header_row: first_row,
        first_column: usize::try_from(start_column).unwrap_or(0),
        header,
        rows: rows
            .map(|(index, row)| (first_row + index, row.iter().map(value).collect()))
            .collect(),
    })
}

fn header_text(cell: &Data) -> String {
    match value(cell) {
        Value::Text(text) => text,
        Value::Number(number) => number.to_string(),
        Value::Date(date) => date.to_string(),
        Value::Boolean(value) => value.to_string(),
        Value::Empty => String::new(),
    }
}

fn value(cell: &Data) -> Value {
    match cell {
        Data::Empty | Data::Error(_) => Value::Empty,
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            Value::Text(text.nfc().collect())
        }
        Data::Float(number) => Value::Number(*number),
        #[expect(
            clippy::cast_precision_loss,
            reason = "spreadsheet integers fit an f64"
        )]
        Data::Int(number) => Value::Number(*number as f64),
        Data::Bool(value) => Value::Boolean(*value),
        Data::DateTime(at) => at
            .as_datetime()
            .map_or(Value::Number(at.as_f64()), |at| Value::Date(at.date())),
    }
}

/// The text of a CSV body: `charset` when the client named one, else a byte-order mark (UTF-8 or
/// UTF-16), else UTF-8 when the bytes are valid UTF-8, else UTF-16 without a mark when every other byte
/// is zero, else Windows-1258 when that reads as text (no control characters). 422 `unknown_encoding`
/// when none fits, and
/// `unknown_charset` for a charset this server does not know. The text is NFC-normalised (Windows-1258
/// writes tone marks as separate characters).
pub fn decode(body: &[u8], charset: Option<&str>) -> Result<String, AppError> {
    let guessed = charset.is_none();
    let encoding = match charset {
        Some(label) => Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            refuse(
                "body",
                "unknown_charset",
                format!("charset {label:?} is not one this server reads"),
                format!("không đọc được bảng mã {label:?}"),
            )
        })?,
        None => sniff(body)?,
    };
    let (text, _, malformed) = encoding.decode(body);
    // A guess of Windows-1258 (which maps every byte) is right only when the result reads as text.
    if malformed || (guessed && encoding == WINDOWS_1258 && has_stray_controls(&text)) {
        return Err(unknown_encoding(encoding.name()));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text.nfc().collect())
}

fn unknown_encoding(tried: &str) -> AppError {
    refuse(
        "body",
        "unknown_encoding",
        format!(
            "the text encoding of the file cannot be told (it is not valid {tried}): save it as \
             \"CSV UTF-8\" or XLSX, or name the charset in Content-Type"
        ),
        format!(
            "không xác định được bảng mã của tệp (không phải {tried} hợp lệ): hãy lưu dạng \
             \"CSV UTF-8\" hoặc XLSX, hoặc ghi rõ charset trong Content-Type"
        ),
    )
}

/// Control characters that no spreadsheet text holds (C0 but tab and line breaks, and C1).
fn has_stray_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || ('\u{80}'..='\u{9f}').contains(&c)
    })
}

fn sniff(body: &[u8]) -> Result<&'static Encoding, AppError> {
    if let Some((encoding, _)) = Encoding::for_bom(body) {
        return Ok(encoding);
    }
    if std::str::from_utf8(body).is_ok() {
        return Ok(UTF_8);
    }
    let sample = &body[..body.len().min(4096) & !1];
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|byte| **byte == 0)
            .count()
    };
    let pairs = sample.len() / 2;
    if pairs > 0 {
        if zeros_at(1) * 3 > pairs * 2 && zeros_at(0) == 0 {
            return Ok(UTF_16LE);
        }
        if zeros_at(0) * 3 > pairs * 2 && zeros_at(1) == 0 {
            return Ok(UTF_16BE);
        }
    }
    if body.contains(&0) {
        return Err(unknown_encoding("UTF-8, UTF-16 or Windows-1258"));
    }
    Ok(WINDOWS_1258)
}

/// A CSV text as a grid: comma, semicolon or tab, whichever the header line has most of.
pub fn read_csv(text: &str) -> Result<Grid, AppError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.matches(char::from(*d)).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(record) => record
            .map_err(|error| malformed_csv(1, &error))?
            .iter()
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|error| {
            let line = error
                .position()
                .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
            malformed_csv(line, &error)
        })?;
        let number = record
            .position()
            .map_or(rows.len() + 2, |p| usize::try_from(p.line()).unwrap_or(0));
        rows.push((
            number,
            record
                .iter()
                .map(|cell| Value::Text(cell.to_owned()))
                .collect(),
        ));
    }
    Ok(Grid {
        header_row: 1,
        first_column: 0,
        header,
        rows,
    })
}

fn malformed_csv(line: usize, error: &csv::Error) -> AppError {
    refuse(
        "body",
        "malformed_csv",
        format!("line {line}: {error}"),
        format!("dòng {line}: CSV không hợp lệ ({error})"),
    )
}

/// 415 for a body that is none of the formats an import reads.
pub fn unsupported() -> AppError {
    AppError::new(ErrorCode::UnsupportedMediaType).with_detail(Text::new(
        "Send text/csv, an XLSX file (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet) or application/json",
        "Hãy gửi text/csv, tệp XLSX (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet) hoặc application/json",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_count_like_spreadsheets() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn encodings_are_told_apart() {
        let text = "mã,tên\nCM-1,Tổ Chiềng Đông\n";
        assert_eq!(decode(text.as_bytes(), None).unwrap(), text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom, None).unwrap(), text);
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&utf16, None).unwrap(), text);
        let mut utf16_bom = vec![0xFF, 0xFE];
        utf16_bom.extend_from_slice(&utf16);
        assert_eq!(decode(&utf16_bom, None).unwrap(), text);
        let utf16_be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&utf16_be, None).unwrap(), text);
        // Windows-1258 writes "Tổ" as T, the precomposed ô (0xF4) and a combining hook above (0xD2), and
        // "mã" as m, a and a combining tilde (0xDE).
        let cp1258 = b"ma\xDE,t\xEAn\nCM-1,T\xF4\xD2\n";
        assert_eq!(decode(cp1258, None).unwrap(), "mã,tên\nCM-1,Tổ\n");
        assert_eq!(
            decode(cp1258, Some("windows-1258")).unwrap(),
            "mã,tên\nCM-1,Tổ\n"
        );
        let garbage = [0x01, 0x02, 0x81, 0x9F, 0x41];
        let error = decode(&garbage, None).unwrap_err();
        assert_eq!(error.field_errors()[0].code, "unknown_encoding");
        let error = decode(b"a,b", Some("klingon")).unwrap_err();
        assert_eq!(error.field_errors()[0].code, "unknown_charset");
    }

    #[test]
    fn csv_delimiters_include_excel_unicode_text_tabs() {
        let grid = read_csv("code\tname\nCM-1\tTổ 1\n").unwrap();
        assert_eq!(grid.header, ["code", "name"]);
        assert_eq!(grid.rows[0].0, 2);
        assert_eq!(grid.rows[0].1[1], Value::Text("Tổ 1".into()));
        let grid = read_csv("code;name\nCM-1;Tổ 1\n").unwrap();
        assert_eq!(grid.header, ["code", "name"]);
    }
}
