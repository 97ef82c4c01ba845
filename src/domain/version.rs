//! Optimistic concurrency: what a write expects of a record's current `version`.

use crate::error::{AppError, ErrorCode, Text};

/// The versions a write may apply to: any (no precondition), or one of these (from `If-Match`, or a
/// phone's `base_version`). The HTTP layer parses headers into this; the domain never sees header text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Whatever is current (no `If-Match`, or `If-Match: *`).
    #[default]
    Any,
    /// Only when the current version is one of these (none: a tag that names no version never matches).
    OneOf(Vec<i32>),
}

impl Precondition {
    /// Exactly `version`.
    pub fn exactly(version: i32) -> Self {
        Self::OneOf(vec![version])
    }

    /// The version to write at: `current` when it satisfies the precondition; 412
    /// `precondition_failed` otherwise.
    pub fn check(&self, current: i32) -> Result<i32, AppError> {
        match self {
            Self::Any => Ok(current),
            Self::OneOf(versions) if versions.contains(&current) => Ok(current),
            Self::OneOf(_) => Err(AppError::new(ErrorCode::PreconditionFailed).with_detail(
                Text::new(
                    format!("The current version is {current}; reload and apply your change again"),
                    format!("Phiên bản hiện tại là {current}; hãy tải lại và sửa lại"),
                ),
            )),
        }
    }
}

impl From<Option<i32>> for Precondition {
    /// A phone's `base_version`: `None` for a record new on the phone (no precondition).
    fn from(version: Option<i32>) -> Self {
        version.map_or(Self::Any, Self::exactly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_precondition_passes_the_current_version_or_fails_with_412() {
        assert_eq!(Precondition::Any.check(7).ok(), Some(7));
        assert_eq!(Precondition::OneOf(vec![3, 7]).check(7).ok(), Some(7));
        assert_eq!(
            Precondition::exactly(3)
                .check(7)
                .err()
                .map(|e| e.status().as_u16()),
            Some(412)
        );
        assert!(Precondition::OneOf(Vec::new()).check(1).is_err());
        assert_eq!(Precondition::from(None), Precondition::Any);
        assert_eq!(Precondition::from(Some(2)), Precondition::exactly(2));
    }
}
