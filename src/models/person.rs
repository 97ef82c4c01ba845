//! People and their team memberships over time.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{prelude::*, sql_types::Bool};
use uuid::Uuid;

use crate::db::schema::{memberships, org_units, people, personal_data_reads, teams};
use crate::reference::{Affiliation, Choice, Ethnicity, Gender, MembershipRole};

/// A person row. `full_name` and `phone` are personal data (`None` once erased).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = people, check_for_backend(diesel::pg::Pg))]
pub struct Person {
    pub id: Uuid,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub gender: Gender,
    pub birth_year: Option<i16>,
    pub ethnicity: Option<Ethnicity>,
    pub affiliation: Affiliation,
    pub erased_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a person.
#[derive(Debug, Clone, Insertable, AsChangeset, PartialEq, serde::Serialize)]
#[diesel(table_name = people, treat_none_as_null = true)]
pub struct PersonFields {
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub gender: Choice<Gender>,
    pub birth_year: Option<i16>,
    pub ethnicity: Option<Choice<Ethnicity>>,
    pub affiliation: Choice<Affiliation>,
}

impl PersonFields {
    /// The fields of an existing person.
    pub fn of(person: &Person) -> Self {
        Self {
            full_name: person.full_name.clone(),
            phone: person.phone.clone(),
            gender: person.gender.into(),
            birth_year: person.birth_year,
            ethnicity: person.ethnicity.map(Choice::from),
            affiliation: person.affiliation.into(),
        }
    }
}

/// A membership row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    pub id: Uuid,
    pub team_id: Uuid,
    pub person_id: Uuid,
    pub role: MembershipRole,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A membership with its person and team.
#[derive(Debug, Clone)]
pub struct MembershipDetail {
    pub membership: Membership,
    pub person: Person,
    pub team_code: String,
    pub team_name: String,
    /// Path of the team's unit (for scope checks).
    pub unit_path: String,
}

/// A membership to insert in bulk.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = memberships)]
pub struct NewMembership {
    pub id: Uuid,
    pub team_id: Uuid,
    pub person_id: Uuid,
    pub role: MembershipRole,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

/// Inserts many people in batches.
pub fn insert_people(conn: &mut PgConnection, rows: &[(Uuid, PersonFields)]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, fields)| (people::id.eq(*id), fields.clone()))
            .collect();
        inserted += diesel::insert_into(people::table)
            .values(&values)
            .execute(conn)?;
    }
    Ok(inserted)
}

/// Inserts many memberships in batches.
pub fn insert_memberships(conn: &mut PgConnection, rows: &[NewMembership]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(2000) {
        inserted += diesel::insert_into(memberships::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(inserted)
}

/// Sets a membership's role and dates (imports).
pub fn set_membership(
    conn: &mut PgConnection,
    id: Uuid,
    role: MembershipRole,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
) -> QueryResult<usize> {
    diesel::update(memberships::table.find(id))
        .set((
            memberships::role.eq(role),
            memberships::joined_on.eq(joined_on),
            memberships::left_on.eq(left_on),
            memberships::version.eq(memberships::version + 1),
        ))
        .execute(conn)
}

/// Every membership of these teams, with people.
pub fn memberships_of_teams(
    conn: &mut PgConnection,
    teams_: &[Uuid],
) -> QueryResult<Vec<MembershipDetail>> {
    memberships::table
        .inner_join(people::table)
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(memberships::team_id.eq_any(teams_))
        .select((
            Membership::as_select(),
            Person::as_select(),
            teams::code,
            teams::name,
            org_units::path,
        ))
        .load::<DetailRow>(conn)
        .map(|rows| rows.into_iter().map(into_detail).collect())
}

/// The people with these phone numbers.
pub fn people_with_phones(conn: &mut PgConnection, phones: &[String]) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::phone.eq_any(phones))
        .select(Person::as_select())
        .load(conn)
}

/// Inserts a person.
pub fn insert_person(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &PersonFields,
) -> QueryResult<Person> {
    diesel::insert_into(people::table)
        .values((people::id.eq(id), fields))
        .returning(Person::as_returning())
        .get_result(conn)
}

/// Replaces a person's fields.
pub fn update_person(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &PersonFields,
) -> QueryResult<Person> {
    diesel::update(people::table.find(id))
        .set((fields, people::version.eq(people::version + 1)))
        .returning(Person::as_returning())
        .get_result(conn)
}

/// One person.
pub fn find_person(conn: &mut PgConnection, id: Uuid) -> QueryResult<Person> {
    people::table
        .find(id)
        .select(Person::as_select())
        .first(conn)
}

/// The person with this phone number, if any.
pub fn find_by_phone(conn: &mut PgConnection, phone: &str) -> QueryResult<Option<Person>> {
    people::table
        .filter(people::phone.eq(phone))
        .select(Person::as_select())
        .first(conn)
        .optional()
}

/// Inserts a membership with a new id.
pub fn insert_membership(
    conn: &mut PgConnection,
    team: Uuid,
    person: Uuid,
    role: MembershipRole,
    joined_on: NaiveDate,
) -> QueryResult<Membership> {
    insert_membership_with_id(conn, Uuid::now_v7(), team, person, role, joined_on)
}

/// Inserts a membership with a given (possibly client-made) id.
pub fn insert_membership_with_id(
    conn: &mut PgConnection,
    id: Uuid,
    team: Uuid,
    person: Uuid,
    role: MembershipRole,
    joined_on: NaiveDate,
) -> QueryResult<Membership> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::id.eq(id),
            memberships::team_id.eq(team),
            memberships::person_id.eq(person),
            memberships::role.eq(role),
            memberships::joined_on.eq(joined_on),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
}

/// Changes a membership's role or dates at `expected_version`.
pub fn update_membership(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    role: MembershipRole,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
) -> QueryResult<Option<Membership>> {
    diesel::update(
        memberships::table
            .filter(memberships::id.eq(id))
            .filter(memberships::version.eq(expected_version)),
    )
    .set((
        memberships::role.eq(role),
        memberships::joined_on.eq(joined_on),
        memberships::left_on.eq(left_on),
        memberships::version.eq(memberships::version + 1),
    ))
    .returning(Membership::as_returning())
    .get_result(conn)
    .optional()
}

type DetailRow = (Membership, Person, String, String, String);

fn into_detail(
    (membership, person, team_code, team_name, unit_path): DetailRow,
) -> MembershipDetail {
    MembershipDetail {
        membership,
        person,
        team_code,
        team_name,
        unit_path,
    }
}

/// Ends every current membership of a team on `on` (the team was dissolved). Memberships that would
/// end before they began end on their first day.
pub fn end_team_memberships(
    conn: &mut PgConnection,
    team: Uuid,
    on: NaiveDate,
) -> QueryResult<usize> {
    diesel::update(
        memberships::table
            .filter(memberships::team_id.eq(team))
            .filter(memberships::left_on.is_null()),
    )
    .set((
        memberships::left_on.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Date>,
        >("GREATEST(joined_on, ")
        .bind::<diesel::sql_types::Date, _>(on)
        .sql(")")),
        memberships::version.eq(memberships::version + 1),
    ))
    .execute(conn)
}

/// Memberships of a team (current only unless `include_past`), leaders first.
pub fn team_memberships(
    conn: &mut PgConnection,
    team: Uuid,
    include_past: bool,
) -> QueryResult<Vec<MembershipDetail>> {
    // A statically typed query (no boxing, no SQL literal) so diesel keeps it prepared: planning this
    // four-table join took longer than running it (0.3 ms per team read, measured).
    memberships::table
        .inner_join(people::table)
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(memberships::team_id.eq(team))
        .filter(
            memberships::left_on
                .is_null()
                .or(include_past.into_sql::<Bool>()),
        )
        .select((
            Membership::as_select(),
            Person::as_select(),
            teams::code,
            teams::name,
            org_units::path,
        ))
        // Leaders first, then deputies (false sorts before true), then by joining date.
        .order((
            memberships::role.ne(MembershipRole::Leader),
            memberships::role.ne(MembershipRole::Deputy),
            memberships::joined_on.asc(),
            memberships::id.asc(),
        ))
        .load::<DetailRow>(conn)
        .map(|rows| rows.into_iter().map(into_detail).collect())
}

/// Every membership of a person, newest first.
pub fn person_memberships(
    conn: &mut PgConnection,
    person: Uuid,
) -> QueryResult<Vec<MembershipDetail>> {
    memberships::table
        .inner_join(people::table)
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(memberships::person_id.eq(person))
        .order((memberships::joined_on.desc(), memberships::id.desc()))
        .select((
            Membership::as_select(),
            Person::as_select(),
            teams::code,
            teams::name,
            org_units::path,
        ))
        .load::<DetailRow>(conn)
        .map(|rows| rows.into_iter().map(into_detail).collect())
}

/// One membership with its person and team.
pub fn find_membership(conn: &mut PgConnection, id: Uuid) -> QueryResult<MembershipDetail> {
    find_memberships(conn, &[id])?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// Several memberships with their person, team and unit path.
pub fn find_memberships(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<MembershipDetail>> {
    memberships::table
        .inner_join(people::table)
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(memberships::id.eq_any(ids))
        .select((
            Membership::as_select(),
            Person::as_select(),
            teams::code,
            teams::name,
            org_units::path,
        ))
        .load::<DetailRow>(conn)
        .map(|rows| rows.into_iter().map(into_detail).collect())
}

/// What `list_people` filters on.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// People with a membership (current or past) in a team of a unit inside this path.
    pub within_path: Option<String>,
    /// People with a membership in this team (team leaders).
    pub team: Option<Uuid>,
    /// Folded name search.
    pub query: Option<String>,
}

/// People matching `filter`, by id after `after` (an id); with a search, by rank then id after a
/// [`super::search::ranked_position`]. Each with its search rank (0 without a search). A position that
/// is not one of these is refused (`None`).
pub fn list_people(
    conn: &mut PgConnection,
    filter: &PersonFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Option<Vec<(Person, i32)>>> {
    let term = filter.query.as_deref().map(super::search::Term::new);
    let rank = match &term {
        Some(term) => term.rank(&["people.full_name"]),
        None => super::search::no_rank(),
    };
    let mut query = people::table
        .select((Person::as_select(), rank.clone()))
        .into_boxed();
    if filter.within_path.is_some() || filter.team.is_some() {
        let mut visible = memberships::table
            .inner_join(
                teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
            )
            .select(memberships::person_id)
            .into_boxed();
        if let Some(path) = &filter.within_path {
            visible = visible.filter(super::in_subtree(org_units::path, path));
        }
        if let Some(team) = filter.team {
            visible = visible.filter(memberships::team_id.eq(team));
        }
        query = query.filter(people::id.eq_any(visible));
    }
    if let Some(term) = &term {
        query = query.filter(term.matches("people.full_name"));
        if let Some(after) = after {
            let Some((after_rank, after_id)) = super::search::parse_ranked_position(after)
                .and_then(|(rank, id)| Some((rank, Uuid::parse_str(id).ok()?)))
            else {
                return Ok(None);
            };
            query = query.filter(
                rank.clone()
                    .gt(after_rank)
                    .or(rank.clone().eq(after_rank).and(people::id.gt(after_id))),
            );
        }
        query = query.order((rank.asc(), people::id.asc()));
    } else {
        if let Some(after) = after {
            let Ok(after) = Uuid::parse_str(after) else {
                return Ok(None);
            };
            query = query.filter(people::id.gt(after));
        }
        query = query.order(people::id.asc());
    }
    query.limit(limit).load(conn).map(Some)
}

/// True when the person has a current membership anywhere.
pub fn has_current_membership(conn: &mut PgConnection, person: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::person_id.eq(person))
            .filter(memberships::left_on.is_null()),
    ))
    .get_result(conn)
}

/// Erases name and phone, keeping the anonymous record (gender, ethnicity, memberships).
pub fn erase_personal_data(conn: &mut PgConnection, person: Uuid) -> QueryResult<Person> {
    diesel::update(people::table.find(person))
        .set((
            people::full_name.eq(None::<String>),
            people::phone.eq(None::<String>),
            people::birth_year.eq(None::<i16>),
            people::erased_at.eq(diesel::dsl::now),
            people::version.eq(people::version + 1),
        ))
        .returning(Person::as_returning())
        .get_result(conn)
}

/// A record of a read that showed full personal data.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = personal_data_reads, check_for_backend(diesel::pg::Pg))]
pub struct PersonalDataRead {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub reader_id: Uuid,
    pub person_id: Option<Uuid>,
    pub fields: String,
    pub request_id: Option<String>,
    pub attachment_id: Option<Uuid>,
}

/// Which reads [`list_reads`] lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadFilter {
    pub person: Option<Uuid>,
    pub reader: Option<Uuid>,
    pub attachment: Option<Uuid>,
}

/// Records that `reader` downloaded the original of `attachment`, in the caller's transaction.
pub fn record_attachment_read(
    conn: &mut PgConnection,
    reader: Uuid,
    attachment: Uuid,
    request_id: Option<&str>,
) -> QueryResult<usize> {
    diesel::insert_into(personal_data_reads::table)
        .values((
            personal_data_reads::id.eq(Uuid::now_v7()),
            personal_data_reads::reader_id.eq(reader),
            personal_data_reads::attachment_id.eq(attachment),
            personal_data_reads::fields.eq("attachment"),
            personal_data_reads::request_id.eq(request_id),
        ))
        .execute(conn)
}

/// Records that `reader` was shown the full phone numbers of `persons`.
pub fn record_reads(
    conn: &mut PgConnection,
    reader: Uuid,
    persons: &[Uuid],
    request_id: Option<&str>,
) -> QueryResult<usize> {
    if persons.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = persons
        .iter()
        .map(|person| {
            (
                personal_data_reads::id.eq(Uuid::now_v7()),
                personal_data_reads::reader_id.eq(reader),
                personal_data_reads::person_id.eq(*person),
                personal_data_reads::fields.eq("phone"),
                personal_data_reads::request_id.eq(request_id),
            )
        })
        .collect();
    conn.transaction(|conn| {
        // A read's log entry is not data a client handed over: committing it without waiting for the
        // WAL flush keeps reads of personal data from paying a disk sync each (a PostgreSQL crash may
        // lose the last fraction of a second of entries; a crash of this service loses none).
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        diesel::insert_into(personal_data_reads::table)
            .values(rows)
            .execute(conn)
    })
}

/// Read records, newest first, before the `(at, id)` cursor.
pub fn list_reads(
    conn: &mut PgConnection,
    filter: ReadFilter,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<PersonalDataRead>> {
    let ReadFilter {
        person,
        reader,
        attachment,
    } = filter;
    let mut query = personal_data_reads::table
        .select(PersonalDataRead::as_select())
        .into_boxed();
    if let Some(person) = person {
        query = query.filter(personal_data_reads::person_id.eq(person));
    }
    if let Some(reader) = reader {
        query = query.filter(personal_data_reads::reader_id.eq(reader));
    }
    if let Some(attachment) = attachment {
        query = query.filter(personal_data_reads::attachment_id.eq(attachment));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            personal_data_reads::at.lt(at).or(personal_data_reads::at
                .eq(at)
                .and(personal_data_reads::id.lt(id))),
        );
    }
    query
        .order((
            personal_data_reads::at.desc(),
            personal_data_reads::id.desc(),
        ))
        .limit(limit)
        .load(conn)
}

/// The current leaders of these teams: (team, person).
pub fn current_leaders(
    conn: &mut PgConnection,
    teams_: &[Uuid],
) -> QueryResult<Vec<(Uuid, Person)>> {
    memberships::table
        .inner_join(people::table)
        .filter(memberships::team_id.eq_any(teams_))
        .filter(memberships::role.eq(MembershipRole::Leader))
        .filter(memberships::left_on.is_null())
        .select((memberships::team_id, Person::as_select()))
        .load(conn)
}
