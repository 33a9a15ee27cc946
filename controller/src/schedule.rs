//! Schedules, read as a Kubernetes CronJob reads them: five fields (minute hour day-of-month
//! month day-of-week, with names and ranges; day-of-month and day-of-week OR-ed as in cron),
//! the `@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`
//! nicknames, and a time zone given as a `CRON_TZ=Area/City ` (or `TZ=`) prefix; without one
//! the schedule is in UTC, as the controller manager's is by default.
//!
//! Parsing and stepping are the `croner` crate's; what is ours is the missed-run rule: when
//! the controller was down across several ticks, only the latest missed one runs, once (a
//! CronJob does the same), instead of a burst of catch-up sessions.
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error(
        "unknown time zone {0:?} in the CRON_TZ= prefix: use an IANA name such as Europe/Berlin"
    )]
    TimeZone(String),
    #[error("{schedule:?} is not a cron schedule ({reason}): use five fields, e.g. \"0 2 * * *\" (02:00 every day), or @hourly, @daily, @weekly, @monthly")]
    Cron { schedule: String, reason: String },
}

#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: chrono_tz::Tz,
}

/// What a schedule says at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// The latest tick after the last run and not after now, if any: run it once.
    pub missed: Option<DateTime<Utc>>,
    /// The next tick after now.
    pub next: Option<DateTime<Utc>>,
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let text = text.trim();
        let (tz, expr) = match text
            .strip_prefix("CRON_TZ=")
            .or_else(|| text.strip_prefix("TZ="))
        {
            Some(rest) => {
                let (zone, expr) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                (
                    chrono_tz::Tz::from_str(zone)
                        .map_err(|_| ScheduleError::TimeZone(zone.into()))?,
                    expr.trim(),
                )
            }
            None => (chrono_tz::UTC, text),
        };
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expr).map_err(|e| ScheduleError::Cron {
            schedule: text.into(),
            reason: e.to_string(),
        })?;
        Ok(Schedule { cron, tz })
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.tz.from_utc_datetime(&t.naive_utc());
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest tick at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.tz.from_utc_datetime(&t.naive_utc());
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// Given the last run (or when the schedule started) and now: the missed-run rule.
    pub fn due(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> Due {
        let missed = self.latest_at_or_before(now).filter(|t| *t > last);
        Due {
            missed,
            next: self.next_after(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn five_fields_and_nicknames() {
        let s = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            s.next_after(t("2026-11-30T10:02:00Z")),
            Some(t("2026-11-30T10:05:00Z"))
        );
        assert_eq!(
            s.next_after(t("2026-11-30T10:05:00Z")),
            Some(t("2026-11-30T10:10:00Z"))
        );
        let h = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            h.next_after(t("2026-11-30T10:02:00Z")),
            Some(t("2026-11-30T11:00:00Z"))
        );
        let d = Schedule::parse("@daily").unwrap();
        assert_eq!(
            d.next_after(t("2026-11-30T10:02:00Z")),
            Some(t("2026-12-01T00:00:00Z"))
        );
        let w = Schedule::parse("30 2 * * MON-FRI").unwrap();
        // 2026-12-05 is a Saturday.
        assert_eq!(
            w.next_after(t("2026-12-04T03:00:00Z")),
            Some(t("2026-12-07T02:30:00Z"))
        );
    }

    #[test]
    fn time_zone_prefix() {
        let s = Schedule::parse("CRON_TZ=Europe/Berlin 0 2 * * *").unwrap();
        // 02:00 in Berlin in winter is 01:00 UTC.
        assert_eq!(
            s.next_after(t("2026-11-30T00:00:00Z")),
            Some(t("2026-11-30T01:00:00Z"))
        );
        let e = Schedule::parse("CRON_TZ=Mars/Olympus 0 2 * * *").unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn bad_schedules_say_what_to_write() {
        for bad in ["", "* * * *", "0 0 2 * * *", "61 * * * *", "every minute"] {
            let e = Schedule::parse(bad).unwrap_err().to_string();
            assert!(e.contains("five fields"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missed_run_is_caught_up_once() {
        let s = Schedule::parse("* * * * *").unwrap();
        // Down from 10:00:30 to 10:07:10: seven ticks missed, one run (the latest), then 10:08.
        let due = s.due(t("2026-11-30T10:00:30Z"), t("2026-11-30T10:07:10Z"));
        assert_eq!(due.missed, Some(t("2026-11-30T10:07:00Z")));
        assert_eq!(due.next, Some(t("2026-11-30T10:08:00Z")));
        // After running it, nothing is due until the next tick.
        let due = s.due(t("2026-11-30T10:07:00Z"), t("2026-11-30T10:07:40Z"));
        assert_eq!(due.missed, None);
        // A tick exactly now is due.
        assert_eq!(
            s.due(t("2026-11-30T10:07:00Z"), t("2026-11-30T10:08:00Z"))
                .missed,
            Some(t("2026-11-30T10:08:00Z"))
        );
    }
}
