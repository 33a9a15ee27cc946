//! Timestamps as restic (Go's `time.RFC3339Nano`) writes them: fraction of a second without
//! trailing zeros (none at all when zero), `Z` for UTC, otherwise `±hh:mm`. chrono's own RFC 3339
//! form pads the fraction to 3, 6 or 9 digits, which parses fine but prints differently from
//! restic's `snapshots --json` for the same snapshot.
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer, Serializer};

pub fn format(t: &DateTime<FixedOffset>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    match t.offset().local_minus_utc() {
        0 => s.push('Z'),
        off => {
            let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
            s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off % 3600 / 60));
        }
    }
    s
}

/// Go's zero time, which restic reads a missing timestamp as (rustic leaves out a stdin
/// file's times).
pub fn zero() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z").expect("a valid time")
}

pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

/// Go's RFC 3339 parser refuses a leap second (`:60`); chrono takes it as a second with more
/// than 10^9 nanoseconds, which [`format`] cannot write back, so it is refused here too.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    let t = DateTime::parse_from_rfc3339(&s).map_err(serde::de::Error::custom)?;
    if t.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err(serde::de::Error::custom(format!(
            "{s:?}: a leap second is not a valid time"
        )));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc3339nano() {
        let cases = [
            (
                "2024-01-02T03:04:05.123456780Z",
                "2024-01-02T03:04:05.12345678Z",
            ),
            (
                "2024-01-02T03:04:05.100000000+01:00",
                "2024-01-02T03:04:05.1+01:00",
            ),
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
            (
                "2024-01-02T03:04:05.000000001-05:30",
                "2024-01-02T03:04:05.000000001-05:30",
            ),
        ];
        for (input, want) in cases {
            let t = DateTime::parse_from_rfc3339(input).unwrap();
            assert_eq!(format(&t), want);
            assert_eq!(DateTime::parse_from_rfc3339(want).unwrap(), t);
        }
    }

    #[test]
    fn leap_seconds_are_refused_as_go_does() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(with = "super")]
            #[allow(dead_code)]
            t: DateTime<FixedOffset>,
        }
        let e = serde_json::from_str::<T>(r#"{"t":"2016-12-31T23:59:60Z"}"#)
            .err()
            .unwrap();
        assert!(e.to_string().contains("leap second"), "{e}");
        assert!(serde_json::from_str::<T>(r#"{"t":"2016-12-31T23:59:59.5Z"}"#).is_ok());
    }
}
