//! `output.json`: what a catalog step (`stash addon … --output-dir D`) leaves in `D` for the
//! Task's last step, `update-status`, to record in the session — Stash's `restic.BackupOutput`
//! and `restic.RestoreOutput`, field for field, so either side can be Stash's.
//!
//! Sizes and times are strings in Stash's formats: `12.345 MiB` (binary units, three decimals,
//! `B` below 1 KiB), processing time `m:ss` / `h:mm:ss`, host durations as Go's
//! `time.Duration` prints them (`1m2.5s`).
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::backup_session::BackupTargetStatus;
use super::restore_batch::RestoreMemberStatus;

/// File name inside the output folder.
pub const OUTPUT_FILE: &str = "output.json";

/// A backup step's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupOutput {
    #[serde(default)]
    pub target_status: BackupTargetStatus,
    /// Set when the step applied the retention policy (see docs/addons.md).
    #[serde(
        default,
        rename = "repository",
        skip_serializing_if = "Option::is_none"
    )]
    pub repository_stats: Option<RepositoryStats>,
}

/// The repository after the step's retention policy, as Stash's `RepositoryStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots_removed_on_last_cleanup: Option<i64>,
}

/// A restore step's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOutput {
    pub target_status: RestoreMemberStatus,
}

/// Bytes as Stash (and restic's text output) print them.
pub fn format_bytes(n: u64) -> String {
    let units = [
        (1u64 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, unit) in units {
        if n > size {
            return format!("{:.3} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} B")
}

/// Whole seconds as `m:ss`, or `h:mm:ss` from an hour on.
pub fn format_seconds(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Bytes from [`format_bytes`]' text (`12.345 MiB`, `1024 B`; restic's `KiB`…`TiB`), as a
/// float since the text keeps three decimals. `None` for anything else.
pub fn parse_bytes(s: &str) -> Option<f64> {
    let (num, unit) = s.trim().split_once(' ')?;
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let scale = match unit {
        "B" => 1u64,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    Some(n * scale as f64)
}

/// Seconds from [`format_seconds`]' text (`m:ss` or `h:mm:ss`). `None` for anything else.
pub fn parse_seconds(s: &str) -> Option<u64> {
    let parts: Vec<u64> = s
        .trim()
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [m, s] => Some(m * 60 + s),
        [h, m, s] => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

/// A duration as Go's `time.Duration.String()`: `1h2m3.5s`, `2.25s`, `1.5ms`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    // Below a second Go switches unit and keeps the fraction: 1.5ms, 250µs, 80ns.
    let frac = |value: u128, unit: u128| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.ilog10() as usize;
        let f = format!("{rest:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", frac(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", frac(nanos, 1_000_000));
    }
    let secs = nanos / 1_000_000_000;
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    let s = frac(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::backup_session::{HostBackupPhase, HostBackupStats};

    #[test]
    fn sizes_and_times_print_as_stashs() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1024), "1024 B");
        assert_eq!(format_bytes(1536), "1.500 KiB");
        // Strictly above a unit's size, as Stash's `c > 1<<20`.
        assert_eq!(format_bytes(1 << 20), "1024.000 KiB");
        assert_eq!(format_bytes(5 << 20), "5.000 MiB");
        assert_eq!(format_bytes(3 << 40), "3.000 TiB");
        assert_eq!(format_seconds(0), "0:00");
        assert_eq!(format_seconds(75), "1:15");
        assert_eq!(format_seconds(3600 + 62), "1:01:02");
    }

    #[test]
    fn sizes_and_times_read_back() {
        for n in [0u64, 1024, 1536, 5 << 20, 3 << 40, 123_456_789] {
            let back = parse_bytes(&format_bytes(n)).unwrap();
            // Three decimals of the unit: within 0.05% of the bytes.
            assert!((back - n as f64).abs() <= n as f64 * 5e-4, "{n} -> {back}");
        }
        assert_eq!(parse_bytes("12.5 KiB"), Some(12800.0));
        for bad in ["", "12", "12 kB", "x MiB", "-1 B"] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
        for secs in [0, 59, 75, 3600 + 62, 90_000] {
            assert_eq!(parse_seconds(&format_seconds(secs)), Some(secs));
        }
        for bad in ["", "12", "1:x", "1:2:3:4"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_print_as_gos() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(80), "80ns"),
            (Duration::from_micros(250), "250µs"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_millis(2250), "2.25s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_millis(62_500), "1m2.5s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_nanos(3_723_000_000_001), "1h2m3.000000001s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn json_shape_is_stashs() {
        let out = BackupOutput {
            target_status: BackupTargetStatus {
                stats: Some(vec![HostBackupStats {
                    hostname: Some("host-0".into()),
                    phase: Some(HostBackupPhase::Succeeded),
                    duration: Some("1.5s".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            repository_stats: Some(RepositoryStats {
                snapshot_count: Some(3),
                ..Default::default()
            }),
        };
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "targetStatus": {"stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "1.5s"}]},
                "repository": {"snapshotCount": 3}
            })
        );
        assert_eq!(serde_json::from_value::<BackupOutput>(v).unwrap(), out);
    }
}
