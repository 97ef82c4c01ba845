//! Teams: which team a user may see. The team operations (create, change, dissolve, move) still live
//! beside their routes; they move here next.

use diesel::PgConnection;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp},
    error::AppError,
    models::{
        org_unit,
        team::{self, Team},
    },
};

/// Loads a team the actor may see, with its unit, or 404.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<(Team, org_unit::OrgUnit), AppError> {
    let team = team::find(conn, id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("team"))?;
    let unit = org_unit::find(conn, team.org_unit_id)?;
    if actor.sees_team(team.id, &unit.path) {
        Ok((team, unit))
    } else {
        Err(AppError::not_found("team"))
    }
}
