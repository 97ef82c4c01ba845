//! Hand-written SQL that keeps its prepared statement.
//!
//! Diesel never caches a `sql_query` (it cannot know whether the text was built from unbounded input),
//! so PostgreSQL parses and plans such a statement on every execution. For the report and sync queries
//! that was most of their database time: a province summary's figures query spent 0.9 ms planning for
//! 0.2 ms executing (measured with `pg_stat_statements`, see bench/RESULTS.md). [`prepared`] marks a
//! query whose text comes from a fixed, small set of variants as safe to cache: diesel then keeps one
//! named prepared statement per distinct text on each pooled connection, keyed by the text and bind
//! types, and PostgreSQL's plan cache can settle on a generic plan.
//!
//! Only for SQL written in this code base; never for text that includes request input (that would grow
//! the per-connection cache without bound). Values always travel as bind parameters.
//!
//! Only queries read with `load`/`get_result` are kept: diesel's `execute` asks a *reference* to the query
//! whether it may be cached, and references answer by walking the inner `sql_query`, which always says
//! no. tests/api/database.rs checks that a `prepared` query is kept and a bare `sql_query` is not.

use diesel::{
    QueryResult,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    query_dsl::RunQueryDsl,
};

/// A hand-written query (a `sql_query` and its binds) that diesel may keep as a prepared statement.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(Q);

/// Marks `query`, built by `diesel::sql_query` from constant text (or one of a few fixed variants) and
/// its `.bind`s, as safe to keep prepared. See the module documentation.
pub fn prepared<Q>(query: Q) -> Prepared<Q>
where
    Q: QueryFragment<Pg>,
{
    Prepared(query)
}

impl<Q> QueryFragment<Pg> for Prepared<Q>
where
    Q: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        // The text is one of a bounded set of variants written in this code base (see `prepared`).
        Ok(true)
    }
}

/// No static id: diesel caches the statement by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

/// Makes the rest of the current transaction run prepared statements on their generic plans
/// (`SET LOCAL plan_cache_mode = force_generic_plan`); see `domain::reports::read_report` for why.
pub fn force_generic_plans(conn: &mut diesel::PgConnection) -> QueryResult<()> {
    diesel::sql_query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(conn)
        .map(drop)
}
