//! Reports read from the report aggregates (`models::stats`) under the administrative structure of any
//! day (`as_of`): [`scope`] resolves what a report covers and runs it in one read-only snapshot;
//! [`summary`] and [`breakdown`] compute the figures.

pub mod breakdown;
pub mod reach;
pub mod rows;
pub mod scope;
pub mod summary;
pub mod targets;

pub use breakdown::{BreakdownResponse, BreakdownRow, break_down};
pub use scope::{
    PeriodOptions, Reader, ReportScope, check_period, read_report, resolve_scope, root_unit,
};
pub use summary::{SummaryResponse, summarize, team_counts};
