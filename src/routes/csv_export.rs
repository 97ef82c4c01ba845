//! `Accept: text/csv` on list endpoints: the same rows as CSV that Excel opens with Vietnamese intact
//! (UTF-8 with BOM, header row), and cells that cannot run as formulas.

use actix_web::{HttpRequest, HttpResponse, http::header};

use crate::error::AppError;

/// True when the client asked for CSV.
pub fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.trim().starts_with("text/csv"))
        })
}

/// A cell as written: text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a
/// leading apostrophe (OWASP's advice against CSV injection).
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// A CSV document: BOM, header row, rows.
pub fn to_csv(
    header_row: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer
        .write_record(header_row)
        .map_err(AppError::internal)?;
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| neutralize(cell)))
            .map_err(AppError::internal)?;
    }
    writer
        .into_inner()
        .map_err(|error| AppError::internal(anyhow::anyhow!("{error}")))
}

/// A CSV response named `filename`, with the cursor of the next page in `Link`-like `X-Next-Cursor`.
pub fn csv_response(filename: &str, body: Vec<u8>, next_cursor: Option<&str>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    if let Some(cursor) = next_cursor {
        response.insert_header(("X-Next-Cursor", cursor.to_owned()));
    }
    response.body(body)
}

/// An optional value as a cell.
pub fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A list of vocabulary codes in one cell, `;`-separated.
pub fn codes_cell<V: crate::reference::Vocabulary>(values: &[V]) -> String {
    values
        .iter()
        .map(|value| value.code())
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_vietnamese_survives() {
        let bytes = to_csv(
            &["name", "note"],
            [vec![
                "Tổ Chiềng Đông".to_owned(),
                "=cmd|' /C calc'!A0".to_owned(),
            ]],
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("Tổ Chiềng Đông"));
        assert!(text.contains("'=cmd"));
        assert_eq!(neutralize("-5"), "'-5");
        assert_eq!(neutralize("Bản Mòng"), "Bản Mòng");
    }
}
