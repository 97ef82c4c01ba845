//! `q` of the lists, served by indexes (issue 24).
//!
//! Both sides are folded by `cdt_fold` (lower case, no diacritics, NFC), in SQL, so the term is folded
//! exactly as the indexed text. A term of [`MIN_CONTAINS`] characters or more matches anywhere in the
//! text (`LIKE ('%' || term || '%')`, served by the `*_trgm` GIN indexes); a shorter one matches the start of the text
//! (a byte-wise range `~>=~ term AND ~<~ (term || U+10FFFF)`, served by the `*_prefix` `text_pattern_ops`
//! B-trees). Both shapes keep the term a bind parameter, so they are served by the indexes in the generic
//! plan PostgreSQL caches for a prepared statement too.
//!
//! Results are ranked: 0 when a searched column equals the term, 1 when one starts with it, 2 otherwise
//! (the best of the columns), then by the list's own key; a searched list's cursor carries the rank
//! ([`ranked_position`]).
//!
use diesel::{
    expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate},
    pg::Pg,
    query_builder::{AstPass, QueryFragment, QueryId},
    result::QueryResult,
    sql_types::{Bool, Integer, Text},
};

/// Shortest term matched anywhere in the text; shorter terms match the start of the text.
pub const MIN_CONTAINS: usize = 3;

/// A search term (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term(String);

impl Term {
    /// The term `text` (surrounding blanks removed).
    pub fn new(text: &str) -> Self {
        Self(text.trim().to_owned())
    }

    /// Whether only the start of the text is matched (fewer than [`MIN_CONTAINS`] characters).
    pub fn is_prefix_only(&self) -> bool {
        self.0.chars().count() < MIN_CONTAINS
    }

    /// `column` (an SQL column reference such as `teams.name`) matches the term.
    pub fn matches(&self, column: &'static str) -> Matches {
        self.matches_any(&[column])
    }

    /// Any of `columns` matches the term (columns of one table, so each is served by its index).
    pub fn matches_any(&self, columns: &[&'static str]) -> Matches {
        Matches {
            columns: columns.to_vec(),
            prefix_only: self.is_prefix_only(),
            term: self.0.clone(),
            pattern: escaped(&self.0),
        }
    }
}

impl Term {
    /// The rank of a row by `columns` (the best of them): 0 equal, 1 starts with the term, 2 otherwise.
    pub fn rank(&self, columns: &[&'static str]) -> Rank {
        Rank {
            columns: columns.to_vec(),
            term: Some(self.0.clone()),
        }
    }
}

/// The rank of every row of a list without a search: 0.
pub fn no_rank() -> Rank {
    Rank {
        columns: Vec::new(),
        term: None,
    }
}

/// `cdt_fold(column) LIKE '%' || cdt_fold(escaped term) || '%'`, or the prefix range for a short term;
/// several columns are OR-ed.
#[derive(Debug, Clone)]
pub struct Matches {
    columns: Vec<&'static str>,
    prefix_only: bool,
    /// The term, for the prefix range.
    term: String,
    /// The term with LIKE's wildcards escaped, for the contains match.
    pattern: String,
}

impl Expression for Matches {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Matches {}
impl<QS> SelectableExpression<QS> for Matches {}

impl<GB> ValidGrouping<GB> for Matches {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Matches {
    type QueryId = ();
    // The SQL differs by column and term length: the statement cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Matches {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(" OR ");
            }
            if self.prefix_only {
                push_starts_with(&mut out, column, &self.term)?;
            } else {
                out.push_sql("cdt_fold(");
                out.push_sql(column);
                out.push_sql(") LIKE ('%' || cdt_fold(");
                out.push_bind_param::<Text, String>(&self.pattern)?;
                out.push_sql(") || '%')");
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `cdt_fold(column) ~>=~ cdt_fold(term) AND cdt_fold(column) ~<~ cdt_fold(term) || U+10FFFF`.
fn push_starts_with<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    column: &'static str,
    term: &'b String,
) -> QueryResult<()> {
    out.push_sql("(cdt_fold(");
    out.push_sql(column);
    out.push_sql(") ~>=~ cdt_fold(");
    out.push_bind_param::<Text, String>(term)?;
    out.push_sql(") AND cdt_fold(");
    out.push_sql(column);
    out.push_sql(") ~<~ (cdt_fold(");
    out.push_bind_param::<Text, String>(term)?;
    out.push_sql(") || chr(1114111)))");
    Ok(())
}

/// The rank of a row (see [`Term::rank`]); `0` without a term.
#[derive(Debug, Clone)]
pub struct Rank {
    columns: Vec<&'static str>,
    term: Option<String>,
}

impl Expression for Rank {
    type SqlType = Integer;
}

impl<QS> AppearsOnTable<QS> for Rank {}
impl<QS> SelectableExpression<QS> for Rank {}

impl<GB> ValidGrouping<GB> for Rank {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Rank {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Rank {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some(term) = &self.term else {
            out.push_sql("0");
            return Ok(());
        };
        out.push_sql("LEAST(");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql("CASE WHEN cdt_fold(");
            out.push_sql(column);
            out.push_sql(") = cdt_fold(");
            out.push_bind_param::<Text, String>(term)?;
            out.push_sql(") THEN 0 WHEN ");
            push_starts_with(&mut out, column, term)?;
            out.push_sql(" THEN 1 ELSE 2 END");
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A searched list's position: `"<rank>:<key>"`.
pub fn ranked_position(rank: i32, key: &str) -> String {
    format!("{rank}:{key}")
}

/// The rank and key of a position [`ranked_position`] made; `None` for anything else.
pub fn parse_ranked_position(position: &str) -> Option<(i32, &str)> {
    let (rank, key) = position.split_once(':')?;
    let rank = rank.parse().ok().filter(|r| (0..=2).contains(r))?;
    Some((rank, key))
}

/// `text` with `%`, `_` and `\` escaped for LIKE.
fn escaped(text: &str) -> String {
    super::escape_like(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_shorter_than_three_characters_match_prefixes_only() {
        assert!(Term::new(" Lò ").is_prefix_only());
        assert!(Term::new("Hà").is_prefix_only());
        assert!(!Term::new("Mộc").is_prefix_only());
    }

    #[test]
    fn ranked_positions_round_trip_and_refuse_other_text() {
        let position = ranked_position(1, "VH-001");
        assert_eq!(parse_ranked_position(&position), Some((1, "VH-001")));
        assert_eq!(parse_ranked_position("VH-001"), None);
        assert_eq!(parse_ranked_position("7:VH-001"), None);
    }
}

/// `key IN (SELECT … WHERE <match> UNION …)`: rows whose own or related text matches, each source served
/// by its own index (an OR across joined tables would scan them all).
#[derive(Debug, Clone)]
pub struct InAnyOf {
    key: &'static str,
    sources: Vec<(&'static str, Matches)>,
}

impl InAnyOf {
    /// `key` is in the union of `sources`: each an SQL text `SELECT <key> FROM … WHERE` (with its own
    /// aliases) completed by its match.
    pub fn new(key: &'static str, sources: Vec<(&'static str, Matches)>) -> Self {
        Self { key, sources }
    }
}

impl Expression for InAnyOf {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for InAnyOf {}
impl<QS> SelectableExpression<QS> for InAnyOf {}

impl<GB> ValidGrouping<GB> for InAnyOf {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for InAnyOf {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for InAnyOf {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.key);
        out.push_sql(" IN (");
        for (i, (source, matches)) in self.sources.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ");
            }
            out.push_sql(source);
            out.push_sql(" ");
            matches.walk_ast(out.reborrow())?;
        }
        out.push_sql(")");
        Ok(())
    }
}
