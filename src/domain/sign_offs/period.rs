//! [`Period`]: a calendar month, written `YYYY-MM`.

use std::{fmt, str::FromStr};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar month (`2026-10`); held as its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(NaiveDate);

impl Period {
    /// The month holding `day`.
    pub fn of(day: NaiveDate) -> Self {
        Self(day.with_day(1).unwrap_or(day))
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().0.pred_opt().unwrap_or(self.0)
    }

    /// The month after.
    pub fn next(self) -> Self {
        Self(self.0 + chrono::Months::new(1))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.0.year(), self.0.month())
    }
}

impl FromStr for Period {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "a month written YYYY-MM";
        let (year, month) = text.split_once('-').ok_or(EXPECTED)?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(EXPECTED);
        }
        let year: i32 = year.parse().map_err(|_| EXPECTED)?;
        let month: u32 = month.parse().map_err(|_| EXPECTED)?;
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(Self)
            .ok_or(EXPECTED)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_bound_their_month() {
        let october: Period = "2026-10".parse().unwrap();
        assert_eq!(october.to_string(), "2026-10");
        assert_eq!(
            october.first_day(),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert_eq!(
            october.last_day(),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
        );
        assert_eq!(
            "2024-02".parse::<Period>().unwrap().last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(
            Period::of(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap())
                .next()
                .to_string(),
            "2027-01"
        );
        for bad in [
            "2026-13",
            "2026-00",
            "26-10",
            "2026-1",
            "2026/10",
            "2026-10-01",
            "abcd-ef",
            "",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
