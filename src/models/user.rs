//! Users who sign in, with their scope.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{org_units, users};
use crate::reference::{Role, UserStatus};

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub status: UserStatus,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub token_generation: i32,
    pub last_login_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For team leaders: the person they are in the team's membership list.
    pub person_id: Option<Uuid>,
}

/// A user to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub org_unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
}

/// Changes to a user.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    pub org_unit_id: Option<Option<Uuid>>,
    pub team_id: Option<Option<Uuid>>,
    pub person_id: Option<Option<Uuid>>,
    pub status: Option<UserStatus>,
    pub password_hash: Option<String>,
}

impl UserChanges {
    /// True when the change must end the user's sessions: disabling, a new role, scope or password.
    pub fn ends_sessions(&self, current: &User) -> bool {
        self.status.is_some_and(|s| s != current.status)
            || self.role.is_some_and(|r| r != current.role)
            || self
                .org_unit_id
                .is_some_and(|unit| unit != current.org_unit_id)
            || self.team_id.is_some_and(|team| team != current.team_id)
            || self.password_hash.is_some()
    }
}

/// A user with the materialised path of their scope root (for officers and viewers).
#[derive(Debug, Clone)]
pub struct UserWithScope {
    pub user: User,
    pub scope_path: Option<String>,
}

/// One user with their scope path.
pub fn find_with_scope(conn: &mut PgConnection, id: Uuid) -> QueryResult<UserWithScope> {
    users::table
        .left_join(org_units::table.on(org_units::id.nullable().eq(users::org_unit_id)))
        .filter(users::id.eq(id))
        .select((User::as_select(), org_units::path.nullable()))
        .first::<(User, Option<String>)>(conn)
        .map(|(user, scope_path)| UserWithScope { user, scope_path })
}

/// One user by username, ignoring case.
pub fn find_by_username(conn: &mut PgConnection, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(username) = lower(")
                .bind::<diesel::sql_types::Text, _>(username.to_owned())
                .sql(")"),
        )
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only users whose scope unit is inside this path (officers see their subtree).
    pub within_path: Option<String>,
    /// Only these roles.
    pub roles: Option<Vec<Role>>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Folded text matched against username and display name.
    pub query: Option<String>,
}

/// Users matching `filter`, by lower-case username after `after`.
pub fn list(
    conn: &mut PgConnection,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    list_ranked(conn, filter, after, limit).map(|rows| rows.into_iter().map(|(u, _)| u).collect())
}

/// [`list`] with each user's search rank; with a search, ordered by rank then username after a
/// [`super::search::ranked_position`].
pub fn list_ranked(
    conn: &mut PgConnection,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(User, i32)>> {
    let term = filter.query.as_deref().map(super::search::Term::new);
    let rank = match &term {
        Some(term) => term.rank(&["users.username", "users.display_name"]),
        None => super::search::no_rank(),
    };
    let mut query = users::table
        .left_join(org_units::table.on(org_units::id.nullable().eq(users::org_unit_id)))
        .select((User::as_select(), rank.clone()))
        .into_boxed();
    if let Some(path) = &filter.within_path {
        query = query.filter(super::in_subtree(org_units::path, path));
    }
    if let Some(roles) = &filter.roles {
        query = query.filter(users::role.eq_any(roles.clone()));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(status) = filter.status {
        query = query.filter(users::status.eq(status));
    }
    if let Some(term) = &term {
        query = query.filter(term.matches_any(&["users.username", "users.display_name"]));
        if let Some((after_rank, after_name)) = after.and_then(super::search::parse_ranked_position)
        {
            query = query.filter(
                rank.clone().gt(after_rank).or(rank
                    .clone()
                    .eq(after_rank)
                    .and(users::username.gt(after_name.to_owned()))),
            );
        }
        query = query.order((rank.asc(), users::username.asc()));
    } else {
        if let Some(after) = after {
            query = query.filter(users::username.gt(after.to_owned()));
        }
        query = query.order(users::username.asc());
    }
    query.limit(limit).load(conn)
}

/// Inserts a user.
pub fn insert(conn: &mut PgConnection, user: &NewUser) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
}

/// Applies `changes` at `expected_version`; when they end sessions, bumps the token generation too.
pub fn update(
    conn: &mut PgConnection,
    current: &User,
    expected_version: i32,
    changes: &UserChanges,
) -> QueryResult<Option<User>> {
    let generation = if changes.ends_sessions(current) {
        current.token_generation + 1
    } else {
        current.token_generation
    };
    diesel::update(
        users::table
            .filter(users::id.eq(current.id))
            .filter(users::version.eq(expected_version)),
    )
    .set((
        changes,
        users::token_generation.eq(generation),
        users::version.eq(users::version + 1),
    ))
    .returning(User::as_returning())
    .get_result(conn)
    .optional()
}

/// Records a failed login and the lockout it earns; returns the new lock end, if any.
pub fn record_failed_login(
    conn: &mut PgConnection,
    id: Uuid,
    failures: i32,
    locked_until: Option<DateTime<Utc>>,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(failures),
            users::locked_until.eq(locked_until),
        ))
        .execute(conn)
}

/// Records a successful login: counters reset, `last_login_at` to the minute. A user who signs in again
/// within the minute with nothing to reset leaves the row alone, so a burst of sign-ins of one account
/// (a shared device, a script) does not queue on its row lock while holding pool connections.
pub fn record_login(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    let a_minute_ago = Utc::now() - chrono::Duration::minutes(1);
    diesel::update(
        users::table.find(id).filter(
            users::failed_logins
                .ne(0)
                .or(users::locked_until.is_not_null())
                .or(users::last_login_at.is_null())
                .or(users::last_login_at.lt(a_minute_ago)),
        ),
    )
    .set((
        users::failed_logins.eq(0),
        users::locked_until.eq(None::<DateTime<Utc>>),
        users::last_login_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}
