//! One file per table: the row struct, insert/change structs, and query functions on `&mut PgConnection`.
//! No actix type appears here.

pub mod attachment;
pub mod audit;
pub mod campaign;
pub mod idempotency;
pub mod indicator_value;
pub mod org_unit;
pub mod person;
pub mod reach_activity;
pub mod refresh_token;
pub mod search;
pub mod sign_off;
pub mod stats;
pub mod sync;
pub mod target;
pub mod team;
pub mod training_session;
pub mod upload;
pub mod user;
pub mod webhook;

diesel::define_sql_function! {
    /// `cdt_fold(text)`: lower-case, unaccented, NFC (the foundation migration): for searches that ignore
    /// case and Vietnamese diacritics.
    fn cdt_fold(input: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::infix_operator!(PatternGe, " ~>=~ ", backend: diesel::pg::Pg);
diesel::infix_operator!(PatternLt, " ~<~ ", backend: diesel::pg::Pg);

/// A bound text value.
type TextValue = diesel::dsl::AsExprOf<String, diesel::sql_types::Text>;
/// The expression [`in_subtree`] builds.
pub type InSubtree<C> = diesel::dsl::And<PatternGe<C, TextValue>, PatternLt<C, TextValue>>;

/// `column` (a materialised path) is `path` or lies under it: `column ~>=~ path AND column ~<~ upper`,
/// where `upper` is `path` with its last byte incremented (paths end with `/`). Unlike
/// `LIKE $1 || '%'`, this range is served by the `text_pattern_ops` indexes even in the generic plan
/// PostgreSQL caches for a prepared statement, so list queries are not planned again on every request.
pub fn in_subtree<C>(column: C, path: &str) -> InSubtree<C>
where
    C: diesel::Expression<SqlType = diesel::sql_types::Text> + Copy,
{
    use diesel::{BoolExpressionMethods, IntoSql};
    PatternGe::new(
        column,
        path.to_owned().into_sql::<diesel::sql_types::Text>(),
    )
    .and(PatternLt::new(
        column,
        subtree_upper_bound(path).into_sql::<diesel::sql_types::Text>(),
    ))
}

/// The smallest string above every path under `path`: its last character plus one.
pub fn subtree_upper_bound(path: &str) -> String {
    let mut upper = path.to_owned();
    match upper.pop() {
        Some(last) => upper.push(char::from_u32(u32::from(last) + 1).unwrap_or(char::MAX)),
        None => upper.push(char::MAX),
    }
    upper
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

#[cfg(test)]
mod tests {
    use super::subtree_upper_bound;

    #[test]
    fn the_subtree_upper_bound_is_above_every_descendant_and_below_the_next_sibling() {
        let path = "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a/";
        let upper = subtree_upper_bound(path);
        assert_eq!(upper, "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a0");
        let child = format!("{path}0193a0f4-7b1e-7c53-a8e1-000000000001/");
        assert!(path < upper.as_str() && child.as_str() < upper.as_str());
        // A sibling sharing the prefix without the slash is outside.
        assert!("0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b/" > upper.as_str());
    }
}
