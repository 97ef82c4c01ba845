//! The layers ARCHITECTURE.md draws hold: no file under `src/routes/` reads the database schema or
//! builds a query; routes call the layers below (the domain, models); the domain has no HTTP in it.

/// Text that only query-building code contains.
const QUERY_BUILDING: [&str; 12] = [
    "db::schema",
    "schema::{",
    "sql_query",
    "diesel::prelude",
    "QueryDsl",
    "ExpressionMethods",
    "BoolExpressionMethods",
    "diesel::dsl",
    "diesel::select",
    "diesel::insert_into",
    "diesel::update",
    "diesel::delete",
];

fn rust_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_file_under_src_routes_imports_the_schema_or_builds_queries() {
    let mut files = Vec::new();
    rust_files(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes")),
        &mut files,
    );
    assert!(files.len() > 20, "{files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            // utoipa's `openapi::schema` is the document's, not the database's.
            if line.trim_start().starts_with("//") || line.contains("openapi::schema") {
                continue;
            }
            for needle in QUERY_BUILDING {
                if line.contains(needle) {
                    offences.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "queries belong in src/models (below the domain), not in routes:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_domain_layer_knows_nothing_of_http() {
    let mut files = Vec::new();
    rust_files(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/domain")),
        &mut files,
    );
    assert!(!files.is_empty());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for needle in [
            "actix_web",
            "HttpRequest",
            "HttpResponse",
            "crate::routes",
            "If-Match\")",
        ] {
            assert!(
                !text.contains(needle),
                "{} uses {needle}: the domain takes parsed input and returns domain values",
                file.display()
            );
        }
    }
}

/// A route file calls the layers below, never another resource's handlers or DTOs: from other files
/// under `src/routes/` it uses only the shared HTTP plumbing (conditional requests and pagination, CSV
/// answers, the import endpoints' body handling). Shared shapes and operations live in the domain.
#[test]
fn route_files_share_only_http_plumbing() {
    const PLUMBING: [&str; 3] = ["conditional", "export", "imports"];
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes"));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut offences = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("routes/mod.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        // `routes::x` (a path) and `routes::{x::.., y::{..}}` (a use list): each module named first.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("routes::") {
            rest = &rest[at + "routes::".len()..];
            let mut named = Vec::new();
            if let Some(list) = rest.strip_prefix('{') {
                // The top-level entries of the list, up to its matching brace.
                let (mut depth, mut entry) = (0, String::new());
                for c in list.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            named.push(std::mem::take(&mut entry));
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 {
                        entry.push(c);
                    }
                }
                named.push(entry);
            } else {
                named.push(rest.split("::").next().unwrap_or_default().to_owned());
            }
            for name in named {
                let name = name
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                if !name.is_empty() && !PLUMBING.contains(&name.as_str()) {
                    offences.push(format!("{}: routes::{name}", file.display()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "route files use only the shared HTTP plumbing of other route files:\n{}",
        offences.join("\n")
    );
}
