//! The breakdown report: the summary's activity figures split by child unit (under the structure of
//! `as_of`), team, topic, channel, campaign, month or ISO week; the rows add up to the totals.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::org_units::OrgUnitRef,
    error::AppError,
    models::{
        campaign,
        org_unit::{self},
        stats::{self, Bucket, Cut, Figures, TeamGroup},
        team,
    },
    reference::{self, BreakdownBy},
};

use super::{
    scope::{Reader, ReportScope},
    summary::unit_ref,
};

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BreakdownRow {
    /// The unit or team id, topic, channel or campaign code, `YYYY-MM` or `YYYY-Www`.
    pub key: String,
    /// Its name (Vietnamese).
    pub label: String,
    /// For units and teams: their code.
    pub code: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A breakdown: rows that add up to `totals`, which equal the summary's figures (for `topic`, every figure
/// but `topic_mentions`; `channel` and `campaign` rows carry campaign reach only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la",
    "name": "Tỉnh Sơn La", "level": "province"}, "by": "child_unit", "from": "2026-01-01", "to": "2026-11-29",
    "as_of": "2025-06-30", "verified_only": false, "signed_off_only": false,
    "sign_offs": {"accepted": 10, "submitted": 2, "returned": 0, "open": 0},
    "rows": [{"key": "0193a0f4-7b1e-7c53-a8e1-000000000002", "label": "Huyện Mộc Châu", "code": "son-la.moc-chau",
              "sessions": 120, "sessions_training": 50, "sessions_outreach": 70, "duration_minutes": 14400,
              "participants_total": 3100, "participants_female": 1600, "participants_ethnic_minority": 2500,
              "participants_elderly": 300, "trained_total": 1300, "trained_female": 700, "trained_ethnic_minority": 1000,
              "households_reached": 900, "vneid_activations": 240, "payment_accounts_opened": 130,
              "public_service_accounts_created": 110, "online_dossiers_submitted": 180, "apps_installed": 400,
              "topic_mentions": 0, "reach_activities": 60, "contacts": 4200, "unique_people": 2900,
              "reach_households": 1100, "estimated_audience": 6000, "materials_distributed": 250}],
    "totals": {"sessions": 120, "sessions_training": 50, "sessions_outreach": 70, "duration_minutes": 14400,
              "participants_total": 3100, "participants_female": 1600, "participants_ethnic_minority": 2500,
              "participants_elderly": 300, "trained_total": 1300, "trained_female": 700, "trained_ethnic_minority": 1000,
              "households_reached": 900, "vneid_activations": 240, "payment_accounts_opened": 130,
              "public_service_accounts_created": 110, "online_dossiers_submitted": 180, "apps_installed": 400,
              "topic_mentions": 0, "reach_activities": 60, "contacts": 4200, "unique_people": 2900,
              "reach_households": 1100, "estimated_audience": 6000, "materials_distributed": 250}}))]
pub struct BreakdownResponse {
    pub org_unit: OrgUnitRef,
    pub team_id: Option<Uuid>,
    pub by: BreakdownBy,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    pub verified_only: bool,
    /// Only unit-months accepted by a sign-off were counted.
    pub signed_off_only: bool,
    /// The sign-off states of the unit-months the breakdown covers.
    pub sign_offs: crate::domain::sign_offs::SignOffCounts,
    pub rows: Vec<BreakdownRow>,
    pub totals: Figures,
}

/// Builds a breakdown of a scope.
pub fn break_down(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    scope: &ReportScope,
    by: BreakdownBy,
) -> Result<BreakdownResponse, AppError> {
    let dim = match by {
        BreakdownBy::Topic => "topic",
        BreakdownBy::Channel => "channel",
        BreakdownBy::Campaign => "campaign",
        BreakdownBy::ChildUnit | BreakdownBy::Team | BreakdownBy::Month | BreakdownBy::Week => {
            "all"
        }
    };
    let bucket = match by {
        BreakdownBy::Month => Bucket::Month,
        BreakdownBy::Week => Bucket::Week,
        _ => Bucket::None,
    };
    let cut = Cut {
        dim,
        from: scope.from,
        to: scope.to,
        bucket,
        accepted: scope.signed_off.as_ref(),
    };
    let village_level = scope.root.level.serves_teams();
    // (row key, figures) pairs before labelling.
    let mut sums: BTreeMap<String, Figures> = BTreeMap::new();
    let mut add = |key: String, status: &str, figures: Figures| {
        if scope.counts(status) {
            *sums.entry(key).or_default() += figures;
        }
    };
    let mut rows_in_order: Vec<(String, String, Option<String>)> = Vec::new();
    match by {
        BreakdownBy::ChildUnit if village_level => {
            // A commune's villages: from the team grain, by the unit each team served.
            let villages = org_unit::children_in_force(conn, scope.root.id, scope.as_of)?;
            let known: HashMap<String, ()> = villages
                .iter()
                .map(|(id, _, _)| (id.to_string(), ()))
                .collect();
            for row in stats::by_team(conn, &scope.rows, TeamGroup::Unit, cut)? {
                let key = if known.contains_key(&row.grp) {
                    row.grp
                } else {
                    scope.root.id.to_string()
                };
                add(key, &row.status, row.figures);
            }
            rows_in_order.push((
                scope.root.id.to_string(),
                format!("{} (trực tiếp)", scope.root.name),
                Some(scope.root.code.clone()),
            ));
            rows_in_order.extend(
                villages
                    .into_iter()
                    .map(|(id, code, name)| (id.to_string(), name, Some(code))),
            );
        }
        BreakdownBy::ChildUnit => {
            let groups = scope.by_child();
            let rows = if scope.narrowed() {
                let by_commune: HashMap<String, String> = groups
                    .communes
                    .iter()
                    .map(|(c, g)| (c.to_string(), g.clone()))
                    .collect();
                stats::by_team(conn, &scope.rows, TeamGroup::Commune, cut)?
                    .into_iter()
                    .map(|mut row| {
                        row.grp = by_commune.get(&row.grp).cloned().unwrap_or_default();
                        row
                    })
                    .collect()
            } else {
                stats::by_commune(conn, &groups, cut)?
            };
            for row in rows {
                add(row.grp, &row.status, row.figures);
            }
            let graph_children: Vec<Uuid> = {
                let mut ids: Vec<Uuid> = scope.communes.iter().map(|(_, child)| *child).collect();
                ids.sort();
                ids.dedup();
                ids
            };
            let mut children = org_unit::codes_and_names(conn, &graph_children)?;
            children.sort_by(|a, b| a.2.cmp(&b.2));
            rows_in_order.extend(children.into_iter().map(|(id, code, name)| {
                let label = if id == scope.root.id {
                    format!("{name} (trực tiếp)")
                } else {
                    name
                };
                (id.to_string(), label, Some(code))
            }));
        }
        BreakdownBy::Team => {
            for row in stats::by_team(conn, &scope.rows, TeamGroup::Team, cut)? {
                add(row.grp, &row.status, row.figures);
            }
            let counted = reader.teams(conn, scope)?;
            let mut ids: Vec<Uuid> = counted.iter().map(|t| t.team.team_id).collect();
            ids.extend(sums.keys().filter_map(|k| k.parse::<Uuid>().ok()));
            ids.sort();
            ids.dedup();
            let mut named = team::codes_and_names(conn, &ids)?;
            named.sort_by(|a, b| a.1.cmp(&b.1));
            rows_in_order.extend(
                named
                    .into_iter()
                    .map(|(id, code, name)| (id.to_string(), name, Some(code))),
            );
        }
        BreakdownBy::Topic | BreakdownBy::Channel | BreakdownBy::Campaign => {
            for row in scope.figures(conn, &reader.graph, dim, Bucket::None)? {
                add(row.key, &row.status, row.figures);
            }
            match by {
                BreakdownBy::Topic => rows_in_order.extend(
                    reference::SESSION_TOPICS
                        .iter()
                        .map(|l| (l.code.to_owned(), l.name_vi.to_owned(), None)),
                ),
                BreakdownBy::Channel => rows_in_order.extend(
                    reference::REACH_CHANNELS
                        .iter()
                        .map(|l| (l.code.to_owned(), l.name_vi.to_owned(), None)),
                ),
                _ => {
                    let ids: Vec<Uuid> = sums.keys().filter_map(|k| k.parse().ok()).collect();
                    let mut named = campaign::codes_and_names(conn, &ids)?;
                    named.sort_by(|a, b| a.1.cmp(&b.1));
                    rows_in_order.extend(
                        named
                            .into_iter()
                            .map(|(id, code, name)| (id.to_string(), name, Some(code))),
                    );
                }
            }
        }
        BreakdownBy::Month | BreakdownBy::Week => {
            for row in scope.figures(conn, &reader.graph, dim, bucket)? {
                add(row.bucket, &row.status, row.figures);
            }
            let mut day = scope.from;
            let mut buckets = Vec::new();
            while day <= scope.to {
                let key = match bucket {
                    Bucket::Week => {
                        let week = day.iso_week();
                        format!("{}-W{:02}", week.year(), week.week())
                    }
                    _ => format!("{}-{:02}", day.year(), day.month()),
                };
                if buckets.last() != Some(&key) {
                    buckets.push(key);
                }
                day = match day.succ_opt() {
                    Some(next) => next,
                    None => break,
                };
            }
            rows_in_order.extend(buckets.into_iter().map(|k| (k.clone(), k, None)));
        }
    }
    // Every known key in order, then anything the aggregates had that the lists did not (a topic or channel
    // retired from the reference lists, a team that moved away).
    let mut rows = Vec::new();
    let mut totals = Figures::default();
    let mut seen = std::collections::HashSet::new();
    for (key, label, code) in rows_in_order {
        if !seen.insert(key.clone()) {
            continue;
        }
        let figures = sums.get(&key).copied().unwrap_or_default();
        totals += figures;
        rows.push(BreakdownRow {
            key,
            label,
            code,
            figures,
        });
    }
    for (key, figures) in &sums {
        if !seen.contains(key) {
            totals += *figures;
            rows.push(BreakdownRow {
                key: key.clone(),
                label: key.clone(),
                code: None,
                figures: *figures,
            });
        }
    }
    Ok(BreakdownResponse {
        org_unit: unit_ref(&scope.root),
        team_id: scope.rows.team,
        by,
        from: scope.from,
        to: scope.to,
        as_of: scope.as_of,
        verified_only: scope.verified_only,
        signed_off_only: scope.signed_off_only(),
        sign_offs: scope.sign_offs(conn, &reader.graph)?,
        rows,
        totals,
    })
}
