//! `spec.sync.schedule`: a standard five-field cron expression (minute hour day-of-month month
//! day-of-week, plus the `@hourly`-style nicknames), evaluated in UTC like upstream's
//! `robfig/cron` `ParseStandard`.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A parsed sync schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

/// A schedule that is not a valid five-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expression:?}: {reason}")]
pub struct ScheduleError {
    /// The expression as written.
    pub expression: String,
    /// Why the parser rejected it.
    pub reason: String,
}

impl Schedule {
    /// Parse a five-field expression; seconds and years are rejected (upstream accepts
    /// exactly the standard five fields).
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        parser
            .parse(expression)
            .map(|cron| Self { cron })
            .map_err(|e| ScheduleError {
                expression: expression.to_string(),
                reason: e.to_string(),
            })
    }

    /// The first time strictly after `after` that the schedule fires, or `None` when it never
    /// fires again (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let zoned = after.to_zoned(TimeZone::UTC);
        self.cron
            .find_next_occurrence(&zoned, false)
            .ok()
            .map(|z| z.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn five_fields_and_nicknames() {
        let s = Schedule::parse("*/10 * * * *").unwrap();
        assert_eq!(
            s.next_after(ts("2026-01-01T10:03:00Z")),
            Some(ts("2026-01-01T10:10:00Z"))
        );
        // Strictly after: a time that matches moves on to the next one.
        assert_eq!(
            s.next_after(ts("2026-01-01T10:10:00Z")),
            Some(ts("2026-01-01T10:20:00Z"))
        );
        let hourly = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            hourly.next_after(ts("2026-01-01T10:03:07Z")),
            Some(ts("2026-01-01T11:00:00Z"))
        );
        let fri = Schedule::parse("30 2 * * FRI").unwrap();
        // 2026-01-01 is a Thursday.
        assert_eq!(
            fri.next_after(ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-01-02T02:30:00Z"))
        );
    }

    #[test]
    fn rejects_bad_expressions() {
        assert!(Schedule::parse("not a cron").is_err());
        assert!(Schedule::parse("0 0 * * * *").is_err(), "six fields");
        assert!(Schedule::parse("61 * * * *").is_err());
        let err = Schedule::parse("x").unwrap_err();
        assert!(err.to_string().starts_with("invalid cron expression \"x\""));
    }
}
