//! What an import template holds for the caller: its columns, the required ones, and the unit and team
//! codes of the caller's scope for the drop-downs (written by [`crate::tabular::template`]).

use diesel::PgConnection;

use crate::{
    auth::AuthUser,
    domain::{
        imports::{ImportKind, indicator_values, members, teams},
        teams::{self as team_registry, TeamQuery},
        today_in_vietnam,
    },
    error::{AppError, Text},
    models::org_unit::{self, OrgUnitFilter},
    reference::{ImportTemplate, OrgUnitLevel, TeamStatus},
    tabular::template::TemplateContent,
};

/// The import behind a template.
pub fn kind_of(template: ImportTemplate) -> ImportKind {
    match template {
        ImportTemplate::Teams => teams::TEAMS,
        ImportTemplate::Members => members::MEMBERS,
        ImportTemplate::IndicatorValues => indicator_values::INDICATOR_VALUES,
    }
}

/// The template's content for `actor`: units in force today in their scope (communes and villages for
/// teams; every level for indicator values), and their teams that are not dissolved (for members).
pub fn content(
    conn: &mut PgConnection,
    actor: &AuthUser,
    template: ImportTemplate,
) -> Result<TemplateContent, AppError> {
    let kind = kind_of(template);
    let today = today_in_vietnam();
    let units = match template {
        ImportTemplate::Members => Vec::new(),
        ImportTemplate::Teams | ImportTemplate::IndicatorValues => {
            let filter = OrgUnitFilter {
                within_path: actor.scope_filter(),
                as_of: Some(today),
                ..OrgUnitFilter::default()
            };
            org_unit::list(conn, &filter, None, i64::MAX)?
                .into_iter()
                .filter(|unit| {
                    template == ImportTemplate::IndicatorValues
                        || matches!(unit.level, OrgUnitLevel::Commune | OrgUnitLevel::Village)
                })
                .map(|unit| (unit.code, unit.name))
                .collect()
        }
    };
    let teams = match template {
        ImportTemplate::Members => {
            team_registry::list(conn, actor, TeamQuery::default(), None, i64::MAX)?
                .into_iter()
                .filter(|row| row.team.status != TeamStatus::Dissolved)
                .map(|row| (row.team.code, row.team.name))
                .collect()
        }
        ImportTemplate::Teams | ImportTemplate::IndicatorValues => Vec::new(),
    };
    let (title, path) = match template {
        ImportTemplate::Teams => (
            Text::new(
                "Team import template",
                "Mẫu nhập danh sách tổ công nghệ số cộng đồng",
            ),
            "/api/v1/imports/teams",
        ),
        ImportTemplate::Members => (
            Text::new(
                "Member import template",
                "Mẫu nhập thành viên tổ công nghệ số cộng đồng",
            ),
            "/api/v1/imports/members",
        ),
        ImportTemplate::IndicatorValues => (
            Text::new("Indicator value import template", "Mẫu nhập giá trị chỉ số"),
            "/api/v1/indicator-values",
        ),
    };
    Ok(TemplateContent {
        title,
        required: kind.required_columns,
        units,
        teams,
        how_to_import: Text::new(
            format!(
                "Send the saved file to {path} (dry_run=true checks it without writing); every bad row is \
                 reported with its row number and column letter."
            ),
            format!(
                "Gửi tệp đã lưu tới {path} (dry_run=true để kiểm tra mà không ghi); mọi dòng lỗi được báo \
                 kèm số dòng và chữ cột."
            ),
        ),
    })
}
