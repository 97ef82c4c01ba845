//! The indicator value import: values measured by national systems, matched by unit, indicator,
//! period and source.

use diesel::PgConnection;

use crate::{
    auth::{AuthUser, Role},
    domain::imports::{ImportKind, ImportOptions, ImportSummary, Row, parse_date, row_error},
    error::AppError,
    models::{
        audit::{self, NewAuditEvent},
        indicator_value::{self, IndicatorFields},
        org_unit,
    },
    reference::{Indicator, Vocabulary},
};

/// The import: a CSV header must name at least these columns.
pub const INDICATOR_VALUES: ImportKind = ImportKind {
    sheet: &crate::tabular::sheets::INDICATOR_VALUES,
    required_columns: &["indicator", "value"],
    plan: rows,
};

/// Plans and writes indicator value rows (an [`ImportRows`](super::ImportRows)): a unit by id or
/// code; the same unit, indicator, period and source again replaces the value (audited).
pub fn rows(
    conn: &mut PgConnection,
    actor: &AuthUser,
    rows: &[Row],
    options: ImportOptions,
) -> Result<ImportSummary, AppError> {
    let ImportOptions { dry_run, atomic } = options;
    let units = org_unit::all(conn)?;
    let mut summary = ImportSummary {
        dry_run,
        ..ImportSummary::default()
    };
    let mut writes = Vec::new();
    for row in rows {
        let mut errors = Vec::new();
        let unit = match (row.get("org_unit_id"), row.get("org_unit_code")) {
            (Some(id), _) => units.iter().find(|u| u.id.to_string() == id),
            (None, Some(code)) => units.iter().find(|u| u.code == code),
            (None, None) => None,
        };
        match unit {
            None => errors.push(row_error(
                row.number,
                Some("org_unit_code"),
                "not_found",
                "give an existing org_unit_id or org_unit_code",
            )),
            Some(unit) if !(actor.role == Role::Admin || actor.sees_path(&unit.path)) => errors
                .push(row_error(
                    row.number,
                    Some("org_unit_code"),
                    "out_of_scope",
                    "is outside your scope",
                )),
            Some(_) => {}
        }
        let indicator = Indicator::parse(row.get("indicator").unwrap_or_default())
            .filter(|indicator| indicator.is_external());
        if indicator.is_none() {
            errors.push(row_error(
                row.number,
                Some("indicator"),
                "invalid_choice",
                "must be online_dossier_rate_pct, vneid_level2_rate_pct or dti_score",
            ));
        }
        let period_start = parse_date(row, "period_start", &mut errors);
        let period_end = parse_date(row, "period_end", &mut errors);
        let as_of = parse_date(row, "as_of", &mut errors);
        for (column, value) in [
            ("period_start", period_start),
            ("period_end", period_end),
            ("as_of", as_of),
        ] {
            if value.is_none() && row.get(column).is_none() {
                errors.push(row_error(
                    row.number,
                    Some(column),
                    "required",
                    "is required",
                ));
            }
        }
        if let (Some(start), Some(end)) = (period_start, period_end)
            && end < start
        {
            errors.push(row_error(
                row.number,
                Some("period_end"),
                "before_period_start",
                "must not be before period_start",
            ));
        }
        let value = row
            .get("value")
            .and_then(|v| v.replace(',', ".").parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        match value {
            None => errors.push(row_error(
                row.number,
                Some("value"),
                "invalid_number",
                "must be a number not below 0",
            )),
            Some(v) if indicator.is_some_and(Indicator::is_rate) && v > 100.0 => {
                errors.push(row_error(
                    row.number,
                    Some("value"),
                    "over_100",
                    "a percentage must be at most 100",
                ))
            }
            Some(_) => {}
        }
        let source = row.get("source").unwrap_or_default().trim().to_owned();
        if !(1..=200).contains(&source.chars().count()) {
            errors.push(row_error(
                row.number,
                Some("source"),
                "length",
                "must be 1 to 200 characters",
            ));
        }
        let (
            Some(unit),
            Some(indicator),
            Some(period_start),
            Some(period_end),
            Some(as_of),
            Some(value),
            true,
        ) = (
            unit,
            indicator,
            period_start,
            period_end,
            as_of,
            value,
            errors.is_empty(),
        )
        else {
            summary.errors.extend(errors);
            continue;
        };
        let fields = IndicatorFields {
            org_unit_id: unit.id,
            indicator,
            period_start,
            period_end,
            value,
            source,
            as_of,
        };
        match indicator_value::find_same(conn, &fields)? {
            Some(stored) if stored.value == fields.value && stored.as_of == fields.as_of => {
                summary.unchanged += 1
            }
            Some(stored) => {
                summary.updated += 1;
                writes.push((Some(stored), fields, unit.path.clone()));
            }
            None => {
                summary.created += 1;
                writes.push((None, fields, unit.path.clone()));
            }
        }
    }
    summary.committed = !dry_run && (summary.errors.is_empty() || !atomic);
    if atomic && !summary.errors.is_empty() {
        summary.created = 0;
        summary.updated = 0;
        summary.unchanged = 0;
    }
    if !summary.committed {
        return Ok(summary);
    }
    for (stored, fields, path) in writes {
        let (action, before, after) = match stored {
            Some(stored) => {
                let after = indicator_value::replace(
                    conn,
                    stored.id,
                    fields.value,
                    fields.as_of,
                    actor.id,
                )?;
                (
                    "indicator_value_replaced",
                    serde_json::json!({"value": stored.value, "as_of": stored.as_of}),
                    after,
                )
            }
            None => (
                "indicator_value_recorded",
                serde_json::json!({}),
                indicator_value::insert(conn, &fields, actor.id)?,
            ),
        };
        audit::record(
            conn,
            &actor.audit_context(),
            NewAuditEvent {
                action,
                entity_type: "indicator_value",
                entity_id: Some(after.id),
                org_unit_path: Some(path),
                changes: audit::diff(
                    &before,
                    &serde_json::json!({"value": after.value, "as_of": after.as_of}),
                ),
            },
        )?;
    }
    Ok(summary)
}
