//! `stash::engine::retention::apply` against the real `restic forget` (restic 0.14).
//!
//! For each case: a restic repository in a temp dir, snapshots of tiny files made
//! with `restic backup --time … --host … --tag …` (the time read in the zone named
//! by the case, UTC unless said), then `restic forget --dry-run --json` with the
//! case's flags. Our `apply` on the snapshot list of `restic snapshots --json`
//! must keep and remove exactly the same ids in each group, in the same order,
//! with the same reasons ("matches").
//!
//! The binary is `$RESTIC_BIN` or `/usr/bin/restic`; `integration/scripts/install-tools.sh`
//! installs it. Without it the test fails: a comparison that did not run proves nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;
use stash::engine::retention::*;

const PASSWORD: &str = "stash-retention-test";

/// One `restic backup`: local time, zone (`TZ`), host, files (names under the
/// case's data dir), tags.
struct Snap {
    time: &'static str,
    tz: &'static str,
    host: &'static str,
    files: &'static [&'static str],
    tags: &'static [&'static str],
}

/// A snapshot in UTC of file `x` on host `h`.
const fn s(time: &'static str) -> Snap {
    Snap {
        time,
        tz: "UTC",
        host: "h",
        files: &["x"],
        tags: &[],
    }
}
/// A snapshot in UTC with host, files and tags.
const fn sh(
    time: &'static str,
    host: &'static str,
    files: &'static [&'static str],
    tags: &'static [&'static str],
) -> Snap {
    Snap {
        time,
        tz: "UTC",
        host,
        files,
        tags,
    }
}
/// A snapshot of file `x` on host `h`, its time read in zone `tz`.
const fn sz(time: &'static str, tz: &'static str) -> Snap {
    Snap {
        time,
        tz,
        host: "h",
        files: &["x"],
        tags: &[],
    }
}

struct Case {
    name: &'static str,
    snaps: Vec<Snap>,
    policy: KeepPolicy,
    group_by: &'static str,
}

fn policy(
    last: u32,
    hourly: u32,
    daily: u32,
    weekly: u32,
    monthly: u32,
    yearly: u32,
    tags: &[&str],
) -> KeepPolicy {
    KeepPolicy {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
        tags: tags.iter().map(ToString::to_string).collect(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "keep-last",
            snaps: vec![
                s("2023-01-01 10:00:00"),
                s("2023-01-03 10:00:00"),
                s("2023-01-02 10:00:00"),
                s("2023-01-05 10:00:00"),
                s("2023-01-04 10:00:00"),
            ],
            policy: policy(3, 0, 0, 0, 0, 0, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-hourly, ties in an hour, across midnight",
            snaps: vec![
                s("2023-05-01 22:10:00"),
                s("2023-05-01 22:50:00"),
                s("2023-05-01 23:05:00"),
                s("2023-05-02 00:01:00"),
                s("2023-05-02 00:59:00"),
                s("2023-05-02 03:00:00"),
            ],
            policy: policy(0, 3, 0, 0, 0, 0, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-daily, ties in a day, across a month end",
            snaps: vec![
                s("2023-02-27 08:00:00"),
                s("2023-02-28 08:00:00"),
                s("2023-02-28 20:00:00"),
                s("2023-03-01 00:00:00"),
                s("2023-03-01 23:59:59"),
                s("2023-03-04 12:00:00"),
            ],
            policy: policy(0, 0, 3, 0, 0, 0, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-weekly, ISO week 2020-W53 across new year",
            snaps: vec![
                s("2020-12-21 10:00:00"),
                s("2020-12-28 10:00:00"),
                s("2021-01-01 10:00:00"),
                s("2021-01-03 23:00:00"),
                s("2021-01-04 01:00:00"),
                s("2021-01-10 12:00:00"),
            ],
            policy: policy(0, 0, 0, 3, 0, 1, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-monthly and keep-yearly over years",
            snaps: vec![
                s("2016-06-15 12:00:00"),
                s("2019-06-15 12:00:00"),
                s("2019-12-15 12:00:00"),
                s("2020-03-15 12:00:00"),
                s("2020-11-15 12:00:00"),
                s("2021-01-15 12:00:00"),
                s("2021-01-20 12:00:00"),
                s("2021-02-15 12:00:00"),
            ],
            policy: policy(0, 0, 0, 0, 2, 3, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "every rule combined",
            snaps: vec![
                s("2021-12-31 23:00:00"),
                s("2022-12-30 10:00:00"),
                s("2023-01-01 09:00:00"),
                s("2023-01-02 09:00:00"),
                s("2023-01-02 09:30:00"),
                s("2023-01-02 15:00:00"),
            ],
            policy: policy(1, 1, 2, 2, 2, 2, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "several hosts and paths, default grouping",
            snaps: vec![
                sh("2023-01-01 00:00:00", "a", &["x"], &[]),
                sh("2023-01-02 00:00:00", "a", &["x"], &[]),
                sh("2023-01-02 12:00:00", "a", &["x"], &[]),
                sh("2023-01-02 06:00:00", "a", &["y"], &[]),
                sh("2023-01-01 00:00:00", "b", &["x"], &[]),
                sh("2023-01-03 00:00:00", "b", &["x"], &[]),
                sh("2023-01-04 00:00:00", "b", &["y", "x"], &[]),
                sh("2023-01-05 00:00:00", "b", &["x", "y"], &[]),
            ],
            policy: policy(1, 0, 2, 0, 0, 0, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-tag lists with keep-last",
            snaps: vec![
                sh("2022-12-31 00:00:00", "h", &["x"], &["other"]),
                sh("2023-01-01 00:00:00", "h", &["x"], &["prod"]),
                sh("2023-01-02 00:00:00", "h", &["x"], &["a"]),
                sh("2023-01-03 00:00:00", "h", &["x"], &["b", "a"]),
                sh("2023-01-04 00:00:00", "h", &["x"], &["a", "b", "prod"]),
                sh("2023-01-05 00:00:00", "h", &["x"], &[]),
            ],
            policy: policy(2, 0, 0, 0, 0, 0, &["prod", "a, b"]),
            group_by: "host,paths",
        },
        Case {
            name: "keep-tag \"\" keeps the untagged, with keep-yearly",
            snaps: vec![
                sh("2021-01-01 00:00:00", "h", &["x"], &[]),
                sh("2022-01-02 00:00:00", "h", &["x"], &["t"]),
                sh("2022-01-03 00:00:00", "h", &["x"], &["t"]),
                sh("2022-01-04 00:00:00", "h", &["x"], &[]),
                sh("2023-01-04 00:00:00", "h", &["x"], &["t"]),
            ],
            policy: policy(0, 0, 0, 0, 0, 1, &[""]),
            group_by: "host,paths",
        },
        Case {
            name: "group by tags",
            snaps: vec![
                sh("2023-01-01 00:00:00", "a", &["x"], &["x"]),
                sh("2023-01-02 00:00:00", "b", &["x"], &["x"]),
                sh("2023-01-03 00:00:00", "a", &["y"], &["y", "x"]),
                sh("2023-01-04 00:00:00", "a", &["x"], &["x", "y"]),
                sh("2023-01-05 00:00:00", "a", &["x"], &[]),
                sh("2023-01-06 00:00:00", "b", &["x"], &[]),
            ],
            policy: policy(1, 0, 0, 0, 0, 0, &[]),
            group_by: "tags",
        },
        Case {
            name: "group by host,tags",
            snaps: vec![
                sh("2023-01-01 00:00:00", "a", &["x"], &["t"]),
                sh("2023-01-08 00:00:00", "a", &["y"], &["t"]),
                sh("2023-01-09 00:00:00", "a", &["x"], &["t"]),
                sh("2023-01-02 00:00:00", "b", &["x"], &["t"]),
                sh("2023-01-03 00:00:00", "b", &["x"], &["u"]),
                sh("2023-01-10 00:00:00", "b", &["x"], &["u"]),
            ],
            policy: policy(0, 0, 0, 1, 0, 0, &[]),
            group_by: "host,tags",
        },
        Case {
            name: "no grouping across hosts and paths",
            snaps: vec![
                sh("2023-01-01 00:00:00", "a", &["x"], &[]),
                sh("2023-01-01 12:00:00", "b", &["y"], &["t"]),
                sh("2023-01-02 00:00:00", "a", &["x"], &[]),
                sh("2023-01-03 00:00:00", "b", &["x", "y"], &[]),
                sh("2023-01-03 06:00:00", "a", &["x"], &[]),
            ],
            policy: policy(0, 0, 2, 0, 0, 0, &[]),
            group_by: "",
        },
        Case {
            name: "mixed UTC offsets: own-offset buckets, a revisited day",
            snaps: vec![
                // 2023-06-02T02:00Z, day 06-02
                sz("2023-06-02 02:00:00", "UTC"),
                // 2023-06-02T03:00Z, day 06-01 in UTC-5
                sz("2023-06-01 22:00:00", "Etc/GMT+5"),
                // 2023-06-02T04:00Z, day 06-02
                sz("2023-06-02 04:00:00", "UTC"),
                // 2023-06-01T23:30Z, day 06-02 in UTC+5
                sz("2023-06-02 04:30:00", "Etc/GMT-5"),
                // 2023-06-01T20:00Z, day 06-01
                sz("2023-06-01 20:00:00", "UTC"),
            ],
            policy: policy(0, 2, 4, 0, 0, 0, &[]),
            group_by: "host,paths",
        },
        Case {
            name: "empty policy removes nothing",
            snaps: vec![s("2023-01-01 00:00:00"), s("2023-01-02 00:00:00")],
            policy: KeepPolicy::default(),
            group_by: "host,paths",
        },
    ]
}

fn restic_bin() -> PathBuf {
    std::env::var_os("RESTIC_BIN").map_or_else(|| PathBuf::from("/usr/bin/restic"), PathBuf::from)
}

/// Runs restic with a clean environment; returns stdout, or an error with stderr.
fn restic(bin: &Path, home: &Path, repo: &Path, tz: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TZ", tz)
        .env("RESTIC_PASSWORD", PASSWORD)
        .arg("--no-cache")
        .arg("-r")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "restic {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("restic {args:?}: stdout not UTF-8: {e}"))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().expect("string").to_string())
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_snapshots(json: &str) -> Vec<SnapshotInfo> {
    let list: Vec<Value> = serde_json::from_str(json).expect("snapshots --json");
    list.iter()
        .map(|sn| SnapshotInfo {
            id: sn["id"].as_str().expect("id").to_string(),
            time: chrono::DateTime::parse_from_rfc3339(sn["time"].as_str().expect("time"))
                .expect("RFC 3339 time"),
            hostname: sn["hostname"].as_str().unwrap_or_default().to_string(),
            paths: strings(sn.get("paths")),
            tags: strings(sn.get("tags")),
        })
        .collect()
}

/// restic's `forget --json` groups, as `ForgetGroup`s ordered by key.
fn parse_forget(json: &str) -> Vec<ForgetGroup> {
    if json.trim().is_empty() {
        return Vec::new(); // restic prints nothing when the policy is empty
    }
    let groups: Vec<Value> = serde_json::from_str(json).expect("forget --json");
    let mut out: Vec<ForgetGroup> = groups
        .iter()
        .map(|g| {
            let ids = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|sn| sn["id"].as_str().expect("id").to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let keep_ids = ids(&g["keep"]);
            let reasons: Vec<Vec<String>> = g["reasons"]
                .as_array()
                .map(|a| a.iter().map(|r| strings(r.get("matches"))).collect())
                .unwrap_or_default();
            assert_eq!(
                keep_ids.len(),
                reasons.len(),
                "restic gave one reason per kept snapshot"
            );
            ForgetGroup {
                key: GroupKey {
                    hostname: g["host"].as_str().unwrap_or_default().to_string(),
                    paths: strings(g.get("paths")),
                    tags: strings(g.get("tags")),
                },
                keep: keep_ids.into_iter().zip(reasons).collect(),
                remove: ids(&g["remove"]),
            }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

struct Outcome {
    groups: usize,
    kept: usize,
    removed: usize,
}

fn run_case(bin: &Path, template: &Path, case: &Case) -> Result<Outcome, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let repo = dir.path().join("repo");
    copy_dir(template, &repo).map_err(|e| format!("copying the repository: {e}"))?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    for name in ["x", "y"] {
        std::fs::write(data.join(name), name).map_err(|e| e.to_string())?;
    }

    for snap in &case.snaps {
        let mut args: Vec<String> = vec![
            "backup".into(),
            "-q".into(),
            "--time".into(),
            snap.time.into(),
            "--host".into(),
            snap.host.into(),
        ];
        for tag in snap.tags {
            args.push("--tag".into());
            args.push(tag.to_string());
        }
        for file in snap.files {
            args.push(data.join(file).to_string_lossy().into_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        restic(bin, dir.path(), &repo, snap.tz, &args)?;
    }

    let snapshots = parse_snapshots(&restic(
        bin,
        dir.path(),
        &repo,
        "UTC",
        &["snapshots", "--json"],
    )?);
    if snapshots.len() != case.snaps.len() {
        return Err(format!(
            "expected {} snapshots, restic lists {}",
            case.snaps.len(),
            snapshots.len()
        ));
    }

    let group_arg = format!("--group-by={}", case.group_by);
    let mut args = vec![
        "forget".to_string(),
        "--dry-run".into(),
        "--json".into(),
        group_arg,
    ];
    args.extend(case.policy.to_restic_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let theirs = parse_forget(&restic(bin, dir.path(), &repo, "UTC", &args)?);

    let group_by = GroupBy::parse(case.group_by).map_err(|e| e.to_string())?;
    let ours = apply(&snapshots, &case.policy, group_by);

    if ours != theirs {
        let times: BTreeMap<&str, String> = snapshots
            .iter()
            .map(|s| (s.id.as_str(), s.time.to_rfc3339()))
            .collect();
        return Err(format!(
            "differs from restic forget {args:?}\n  snapshots (id → time): {times:#?}\n  restic: {theirs:#?}\n  ours:   {ours:#?}"
        ));
    }
    // Whatever restic did, everything it was given is decided exactly once.
    let decided: usize = ours.iter().map(|g| g.keep.len() + g.remove.len()).sum();
    if !case.policy.is_empty() && decided != snapshots.len() {
        return Err(format!(
            "{decided} of {} snapshots decided",
            snapshots.len()
        ));
    }
    Ok(Outcome {
        groups: ours.len(),
        kept: ours.iter().map(|g| g.keep.len()).sum(),
        removed: ours.iter().map(|g| g.remove.len()).sum(),
    })
}

#[test]
fn retention_matches_restic_forget() {
    let bin = restic_bin();
    if !bin.exists() {
        panic!(
            "restic not found at {} (run integration/scripts/install-tools.sh or set RESTIC_BIN)",
            bin.display()
        );
    }
    let version = Command::new(&bin)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    eprintln!("comparing with {version:?}");

    // One `restic init` (its scrypt calibration is the slow part), copied per case.
    let template_dir = tempfile::tempdir().unwrap();
    let template = template_dir.path().join("repo");
    restic(&bin, template_dir.path(), &template, "UTC", &["init", "-q"]).expect("restic init");

    let cases = cases();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Outcome, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let result = run_case(&bin, &template, case);
                results.lock().unwrap().push((i, result));
            });
        }
    });

    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut failures = Vec::new();
    let mut total_removed = 0;
    for (i, result) in results {
        match result {
            Ok(o) => {
                eprintln!(
                    "ok   {:<55} groups {} kept {} removed {}",
                    cases[i].name, o.groups, o.kept, o.removed
                );
                total_removed += o.removed;
            }
            Err(e) => {
                eprintln!("FAIL {}", cases[i].name);
                failures.push(format!("case {:?}: {e}", cases[i].name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        total_removed > 0,
        "no case removed anything: the comparison proves little"
    );
}
