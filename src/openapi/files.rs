//! Documents the files of each operation that offers them: the CSV and XLSX media types beside JSON, a
//! CSV example (its header row), the `Content-Disposition` and `X-Next-Cursor` headers, and a paragraph
//! listing the formats and every column with its Vietnamese and English header, all read from the same
//! sheet definitions the files are written from ([`crate::routes::export::FILE_OPERATIONS`]).

use serde_json::json;

use crate::{routes::export::FILE_OPERATIONS, tabular::XLSX_MEDIA_TYPE};

pub(super) fn describe_files(document: &mut serde_json::Value) {
    document["components"]["headers"]["X-Next-Cursor"] = json!({
        "description": "On a file of one page (`limit` or `cursor` given): the cursor of the next page, absent on the last.",
        "schema": {"type": "string"}
    });
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
    {
        let Some(id) = operation["operationId"].as_str() else {
            continue;
        };
        let Some(file) = FILE_OPERATIONS.iter().find(|file| file.operation == id) else {
            continue;
        };
        if !file.csv {
            // XLSX only: the `format` parameter admits nothing else.
            if let Some(parameters) = operation["parameters"].as_array_mut() {
                for parameter in parameters.iter_mut().filter(|p| p["name"] == "format") {
                    parameter["schema"] = json!({"type": "string", "enum": ["xlsx"]});
                    parameter["description"] =
                        json!("`xlsx`, the only format of this operation (overrides `Accept`).");
                }
            }
        }
        let ok = &mut operation["responses"]["200"];
        if file.csv {
            let header: Vec<&str> = file.sheet.columns.iter().map(|c| c.key).collect();
            ok["content"]["text/csv"] = json!({
                "schema": {"type": "string"},
                "example": format!("\u{feff}{}\r\n", header.join(","))
            });
        }
        ok["content"][XLSX_MEDIA_TYPE] = json!({
            "schema": {"type": "string", "format": "binary", "contentMediaType": XLSX_MEDIA_TYPE}
        });
        ok["headers"]["Content-Disposition"] =
            json!({"$ref": "#/components/headers/Content-Disposition"});
        if file.list {
            ok["headers"]["X-Next-Cursor"] = json!({"$ref": "#/components/headers/X-Next-Cursor"});
        }
        let columns: String = file
            .sheet
            .columns
            .iter()
            .map(|c| format!("\n| `{}` | {} | {} |", c.key, c.vi, c.en))
            .collect();
        let formats = match (file.csv, file.list) {
            (true, true) => {
                "**Formats.** JSON pages (`application/json`, the default). CSV (`text/csv`: UTF-8 \
                with a BOM, the column keys below as the header row, codes and ISO dates, the import format \
                where there is one) and XLSX (typed cells, Vietnamese headers and labels, English with \
                `Accept-Language: en`, a frozen bold header row with autofilter, and an `About` sheet saying \
                what the file holds) hold the **whole filtered list** in one file, unless `limit` or `cursor` \
                asks for one page (then `X-Next-Cursor` carries the next). Choose with `format=` or `Accept` \
                (quality values and order honoured; `text/csv;q=0` rules CSV out); an `Accept` that admits \
                none of them is 406."
            }
            (true, false) => {
                "**Formats.** JSON (`application/json`, the default), CSV (`text/csv`: UTF-8 with \
                a BOM, the column keys below as the header row, codes and ISO dates) or XLSX (typed cells, \
                Vietnamese headers and labels, English with `Accept-Language: en`, and an `About` sheet \
                saying what the file holds). Choose with `format=` or `Accept` (quality values and order \
                honoured); an `Accept` that admits none of them is 406."
            }
            (false, _) => {
                "**Format.** XLSX only (`format=xlsx` or an `Accept` that admits it; anything \
                else is 406). Headers and labels in Vietnamese, English with `Accept-Language: en`."
            }
        };
        let description = operation["description"].as_str().unwrap_or("").to_owned();
        operation["description"] = json!(if file.csv {
            format!(
                "{description}\n\n{formats}\n\n| Column (CSV) | Tiếng Việt | English |\n|---|---|---|{columns}"
            )
        } else {
            format!("{description}\n\n{formats}")
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::openapi::ApiSpec;

    /// Every operation with a file is described, and every operation described has files.
    #[test]
    fn every_file_operation_is_documented() {
        let spec = ApiSpec::build();
        let document: serde_json::Value = serde_json::from_str(spec.json()).unwrap();
        let mut with_files = Vec::new();
        for item in document["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                let content = &operation["responses"]["200"]["content"];
                if content[crate::tabular::XLSX_MEDIA_TYPE].is_object() {
                    with_files.push(operation["operationId"].as_str().unwrap().to_owned());
                }
                if content["text/csv"].is_object() {
                    assert!(content[crate::tabular::XLSX_MEDIA_TYPE].is_object());
                }
            }
        }
        with_files.sort();
        let mut expected: Vec<String> = crate::routes::export::FILE_OPERATIONS
            .iter()
            .map(|file| file.operation.to_owned())
            .collect();
        expected.sort();
        assert_eq!(with_files, expected);
    }
}
