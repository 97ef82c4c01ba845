//! One file per table: the row struct, insert/change structs, and query functions on `&mut PgConnection`.
//! No actix type appears here.

pub mod audit;
pub mod campaign;
pub mod idempotency;
pub mod indicator_value;
pub mod org_unit;
pub mod person;
pub mod reach_activity;
pub mod refresh_token;
pub mod stats;
pub mod sync;
pub mod target;
pub mod team;
pub mod training_session;
pub mod user;

diesel::define_sql_function! {
    /// `cdt_fold(text)`: lower-case, unaccented, NFC (the foundation migration): for searches that ignore
    /// case and Vietnamese diacritics.
    fn cdt_fold(input: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A PostgreSQL array as diesel maps it (elements nullable) from a plain list.
pub fn to_array<T: Clone>(items: &[T]) -> Vec<Option<T>> {
    items.iter().cloned().map(Some).collect()
}

/// A plain list from a PostgreSQL array whose elements are never null.
pub fn from_array<T: Clone>(items: &[Option<T>]) -> Vec<T> {
    items.iter().flatten().cloned().collect()
}
