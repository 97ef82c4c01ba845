//! `cdt-api seed son-la`: Sơn La's real administrative structure, before and after the 1 July 2025
//! reorganisation, from `data/son_la_units_2025.csv` (embedded in the binary). Idempotent: units are
//! matched by code, links by their pair, so a second run changes nothing.

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

pub mod demo;
pub mod scale;

use crate::{
    error::AppError,
    models::org_unit::{self, NewOrgUnit, OrgUnit},
    reference::{OrgUnitKind, OrgUnitLevel},
};

/// The CSV: `seq,name,kind,predecessors,old_districts` (75 rows).
pub const SON_LA_UNITS_2025: &str = include_str!("../../data/son_la_units_2025.csv");

/// First day of the old structure in this system (before any data it holds).
pub const OLD_STRUCTURE_FROM: &str = "2000-01-01";
/// The day the 75 new communes and wards took over (resolution 1681/NQ-UBTVQH15).
pub const REORGANIZATION_DAY: &str = "2025-07-01";

/// What a seed run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Units created by this run.
    pub units_created: usize,
    /// Succession links created by this run.
    pub links_created: usize,
}

/// An ASCII slug of Vietnamese text: "huyện Vân Hồ" -> "huyen-van-ho".
pub fn slug(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

/// (kind, bare name) of "xã Chiềng Chung", "thị trấn Mường Giàng", "thành phố Sơn La", ...
fn split_kind(full_name: &str) -> (OrgUnitKind, &str) {
    for (prefix, kind) in [
        ("thành phố ", OrgUnitKind::ThanhPho),
        ("thị xã ", OrgUnitKind::ThiXa),
        ("thị trấn ", OrgUnitKind::ThiTran),
        ("huyện ", OrgUnitKind::Huyen),
        ("phường ", OrgUnitKind::Phuong),
        ("xã ", OrgUnitKind::Xa),
    ] {
        if let Some(name) = full_name.strip_prefix(prefix) {
            return (kind, name);
        }
    }
    (OrgUnitKind::Xa, full_name)
}

fn date(text: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(AppError::internal)
}

fn ensure(
    conn: &mut PgConnection,
    report: &mut SeedReport,
    unit: NewOrgUnit,
    parent: Option<&OrgUnit>,
) -> Result<OrgUnit, AppError> {
    if let Some(existing) = org_unit::find_by_code(conn, &unit.code)? {
        return Ok(existing);
    }
    report.units_created += 1;
    Ok(org_unit::insert(conn, &unit.placed_under(parent))?)
}

/// The id of a reference unit: derived from its code, so every installation (and every `seed scale`
/// data set) gives Sơn La's units the same ids.
fn unit_id(code: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("cdt-api org unit {code}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn new_unit(
    code: String,
    name: &str,
    level: OrgUnitLevel,
    kind: OrgUnitKind,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> NewOrgUnit {
    NewOrgUnit {
        id: unit_id(&code),
        code,
        name: name.to_owned(),
        level,
        kind,
        parent_id: None,
        path: String::new(),
        depth: 0,
        valid_from: from,
        valid_to: to,
        households: None,
        population: None,
    }
}

/// Loads Sơn La: the province; until 2025-06-30 its 12 district-level units and 200 commune-level units;
/// from 2025-07-01 the 75 communes and wards, with the 200 -> 75 succession links. One transaction.
pub fn son_la(conn: &mut PgConnection) -> Result<SeedReport, AppError> {
    let old_from = date(OLD_STRUCTURE_FROM)?;
    let new_from = date(REORGANIZATION_DAY)?;
    let old_to = new_from.pred_opt();
    let mut reader = csv::Reader::from_reader(SON_LA_UNITS_2025.as_bytes());
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(AppError::internal)?;

    conn.transaction(|conn| {
        let mut report = SeedReport::default();
        let province = ensure(
            conn,
            &mut report,
            new_unit(
                "son-la".to_owned(),
                "Sơn La",
                OrgUnitLevel::Province,
                OrgUnitKind::Tinh,
                old_from,
                None,
            ),
            None,
        )?;
        for row in &rows {
            let (name, kind) = (
                row.get(1).unwrap_or_default(),
                row.get(2).unwrap_or_default(),
            );
            let predecessors: Vec<&str> = row
                .get(3)
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .collect();
            let districts: Vec<&str> = row
                .get(4)
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .collect();
            let (new_kind, prefix) = if kind == "ward" {
                (OrgUnitKind::Phuong, "phường")
            } else {
                (OrgUnitKind::Xa, "xã")
            };
            let successor = ensure(
                conn,
                &mut report,
                new_unit(
                    format!("son-la.{}", slug(&format!("{prefix} {name}"))),
                    name,
                    OrgUnitLevel::Commune,
                    new_kind,
                    new_from,
                    None,
                ),
                Some(&province),
            )?;
            for (index, predecessor) in predecessors.iter().enumerate() {
                // One district for all, or one per predecessor in the same order.
                let district_name = if districts.len() == predecessors.len() {
                    districts[index]
                } else {
                    districts[0]
                };
                let (district_kind, district_bare) = split_kind(district_name);
                let district = ensure(
                    conn,
                    &mut report,
                    new_unit(
                        format!("son-la.{}", slug(district_name)),
                        district_bare,
                        OrgUnitLevel::District,
                        district_kind,
                        old_from,
                        old_to,
                    ),
                    Some(&province),
                )?;
                let (commune_kind, commune_bare) = split_kind(predecessor);
                let old = ensure(
                    conn,
                    &mut report,
                    new_unit(
                        format!("{}.{}", district.code, slug(predecessor)),
                        commune_bare,
                        OrgUnitLevel::Commune,
                        commune_kind,
                        old_from,
                        old_to,
                    ),
                    Some(&district),
                )?;
                report.links_created +=
                    org_unit::link_succession(conn, old.id, successor.id, new_from)?;
            }
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_vietnamese() {
        assert_eq!(slug("huyện Vân Hồ"), "huyen-van-ho");
        assert_eq!(slug("xã Đoàn Kết"), "xa-doan-ket");
        assert_eq!(slug("thị trấn Mường Giàng"), "thi-tran-muong-giang");
        assert_eq!(
            split_kind("thị xã Mộc Châu"),
            (OrgUnitKind::ThiXa, "Mộc Châu")
        );
    }
}
