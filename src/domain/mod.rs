//! The domain layer, between the HTTP routes and the models: the rules and operations of the product,
//! taking the acting user and parsed input and returning domain values, never HTTP types (no actix, no
//! header text, no status codes).
//!
//! Here: [`validation`] (every invalid field at once, text normalisation, codes), [`workflow`] (who may
//! change and review what teams report, the reporting lock, commune paths), [`Precondition`] (the
//! version a write expects, parsed from `If-Match` or a phone's `base_version`), [`Stored`] and the
//! calendar day in Vietnam; and one module per aggregate: [`org_units`], [`users`], [`teams`],
//! [`memberships`] and [`people`], [`training_sessions`], [`campaigns`] and [`reach_activities`],
//! [`targets`]. Each holds the aggregate's public shape (its `...Response`), its inputs (`...Request`,
//! parsed into checked values) and its operations, called by the routes, sync push and the imports.

pub mod attachments;
pub mod bulk_review;
pub mod campaigns;
pub mod imports;
pub mod indicator_values;
pub mod memberships;
pub mod org_units;
pub mod people;
pub mod reach_activities;
pub mod reports;
pub mod sign_offs;
pub mod sync;
pub mod targets;
pub mod teams;
pub mod training_sessions;
pub mod users;
pub mod validation;
mod version;
pub mod webhooks;
pub mod workflow;

use chrono::{NaiveDate, Utc};

pub use version::Precondition;

/// What a create with a client-made id did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<T> {
    /// A new record.
    Created(T),
    /// The same id came with the same content before: the stored record (a retry).
    AlreadyStored(T),
}

impl<T> Stored<T> {
    /// True for a new record.
    pub fn is_created(&self) -> bool {
        matches!(self, Self::Created(_))
    }

    /// The same outcome for a part of the record.
    pub fn map<U>(self, part: impl FnOnce(T) -> U) -> Stored<U> {
        match self {
            Self::Created(record) => Stored::Created(part(record)),
            Self::AlreadyStored(record) => Stored::AlreadyStored(part(record)),
        }
    }

    /// The record, new or stored.
    pub fn into_record(self) -> T {
        match self {
            Self::Created(record) | Self::AlreadyStored(record) => record,
        }
    }
}

/// Vietnam's offset from UTC (UTC+7, no daylight saving).
pub const VIETNAM_OFFSET: chrono::TimeDelta = chrono::TimeDelta::hours(7);

/// Today in Vietnam.
pub fn today_in_vietnam() -> NaiveDate {
    (Utc::now() + VIETNAM_OFFSET).date_naive()
}
