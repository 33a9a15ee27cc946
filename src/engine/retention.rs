//! Retention: which snapshots `forget` keeps and which it removes.
//!
//! Stash's `RetentionPolicy` (keepLast, keepHourly, … keepTags) was, in the Go
//! original, handed straight to `restic forget` as `--keep-*` flags. Repositories
//! written by Stash are restic repositories, and users (and the original Stash) may
//! run `restic forget` on them too, so the decision made here must be the one
//! restic 0.14 makes for the same snapshots and flags — not an approximation of
//! it. Any difference would delete snapshots a user expected restic's rules to
//! keep. The rules below follow restic 0.14's `forget` (`ApplyPolicy`,
//! `GroupSnapshots`, `cmd_forget.go`), re-stated here:
//!
//! * Snapshots are split into groups by any combination of host, paths (sorted)
//!   and tags (sorted) — `host,paths` by default — or not grouped at all. Each
//!   group is judged on its own.
//! * Inside a group, snapshots are ordered newest first (by instant). A snapshot
//!   is kept if any rule keeps it, and every rule that keeps it is recorded, in
//!   restic's order and wording: `has tags [a, b]` for each matching keep-tag
//!   list, then `last snapshot`, `hourly snapshot`, `daily snapshot`,
//!   `weekly snapshot`, `monthly snapshot`, `yearly snapshot`.
//! * `last` keeps the N newest. `hourly` … `yearly` walk the group newest first
//!   with a budget of N: a snapshot is kept when its bucket (year+month+day+hour,
//!   year+month+day, ISO year+ISO week, year+month, year) differs from the bucket
//!   of the snapshot that rule kept last, which uses up one of the N. Buckets are
//!   computed on the snapshot's wall-clock time in its own stored UTC offset, as
//!   Go's `time.Time` methods do. Because only the *previous kept* bucket is
//!   compared, snapshots with different offsets can revisit a bucket (A, B, A) and
//!   be kept twice — restic does the same.
//! * A keep-tag entry `"a,b"` matches a snapshot carrying both `a` and `b`
//!   (entries are split on `,` and trimmed). The entry `""` matches only
//!   snapshots without any tag.
//! * With no rule at all (all counts zero, no keep-tag), restic 0.14 prints
//!   "no policy was specified, no snapshots will be removed", removes nothing
//!   and its `--json` output is empty: [`apply`] then returns no group at all.
//!
//! Where restic is not deterministic we pick a fixed order: restic iterates its
//! groups from a Go map (random order); we order groups by their key (hostname,
//! then paths, then tags). Snapshots with exactly the same instant come out of
//! restic in listing order; we order them by id.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use serde::{Deserialize, Serialize};

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// A `--group-by` word other than host(s), path(s), tag(s). Same text as restic.
    #[error("unknown grouping option: '{0}'")]
    UnknownGroupOption(String),
}

/// The keep rules of one `forget`. A count of 0 means the rule is off.
///
/// Stash's `RetentionPolicy` holds `int64`s of which only values > 0 count; map
/// each with [`keep_count`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeepPolicy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
    /// Each entry is a tag list `"a,b"`: a snapshot carrying all of them is kept.
    pub tags: Vec<String>,
}

/// Maps one of Stash's `int64` keep counts to a [`KeepPolicy`] count: values
/// ≤ 0 are "not set" (Stash passes no flag for them), larger values saturate
/// (no group holds 4 billion snapshots, so that changes nothing).
///
/// Note: restic 0.14 itself, given `--keep-last -1`, considers the policy
/// non-empty and keeps nothing by that rule; Stash never passes such values.
#[must_use]
pub fn keep_count(value: i64) -> u32 {
    if value <= 0 {
        0
    } else {
        u32::try_from(value).unwrap_or(u32::MAX)
    }
}

impl KeepPolicy {
    /// True when no rule is set: then `forget` removes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.last == 0
            && self.hourly == 0
            && self.daily == 0
            && self.weekly == 0
            && self.monthly == 0
            && self.yearly == 0
            && self.tags.is_empty()
    }

    /// The keep-tag entries as restic parses them: split on `,`, each part
    /// trimmed of white space (so `""` is the list `[""]`).
    #[must_use]
    pub fn tag_lists(&self) -> Vec<Vec<String>> {
        self.tags
            .iter()
            .map(|entry| entry.split(',').map(|t| t.trim().to_string()).collect())
            .collect()
    }

    /// The `restic forget` flags expressing this policy, e.g.
    /// `["--keep-last", "3", "--keep-tag=a,b"]`.
    #[must_use]
    pub fn to_restic_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, n) in [
            ("--keep-last", self.last),
            ("--keep-hourly", self.hourly),
            ("--keep-daily", self.daily),
            ("--keep-weekly", self.weekly),
            ("--keep-monthly", self.monthly),
            ("--keep-yearly", self.yearly),
        ] {
            if n > 0 {
                args.push(flag.to_string());
                args.push(n.to_string());
            }
        }
        for entry in &self.tags {
            // `=` form so that an empty entry survives as a value.
            args.push(format!("--keep-tag={entry}"));
        }
        args
    }
}

/// How snapshots are grouped before the policy is applied (`--group-by`).
///
/// `GroupBy::default()` is [`GroupBy::HOST_PATHS`], `forget`'s default; use
/// [`GroupBy::NONE`] to judge all snapshots as one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBy {
    pub host: bool,
    pub paths: bool,
    pub tags: bool,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy::HOST_PATHS
    }
}

impl GroupBy {
    /// No grouping (`--group-by ''`).
    pub const NONE: GroupBy = GroupBy {
        host: false,
        paths: false,
        tags: false,
    };
    /// `forget`'s default, `--group-by host,paths`.
    pub const HOST_PATHS: GroupBy = GroupBy {
        host: true,
        paths: true,
        tags: false,
    };

    /// Parses a `--group-by` value the way restic does: comma separated words
    /// `host`/`hosts`, `path`/`paths`, `tag`/`tags`; empty words are ignored (so
    /// `""` is no grouping); no white space is trimmed.
    ///
    /// # Errors
    ///
    /// [`RetentionError::UnknownGroupOption`] for any other word.
    pub fn parse(s: &str) -> Result<GroupBy, RetentionError> {
        let mut g = GroupBy::NONE;
        for word in s.split(',') {
            match word {
                "host" | "hosts" => g.host = true,
                "path" | "paths" => g.paths = true,
                "tag" | "tags" => g.tags = true,
                "" => {}
                other => return Err(RetentionError::UnknownGroupOption(other.to_string())),
            }
        }
        Ok(g)
    }

    /// True when at least one criterion is set.
    #[must_use]
    pub fn is_grouping(&self) -> bool {
        self.host || self.paths || self.tags
    }

    /// The value for restic's `--group-by`, e.g. `"host,paths"`; `""` for none.
    #[must_use]
    pub fn to_restic_arg(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        if self.host {
            words.push("host");
        }
        if self.paths {
            words.push("paths");
        }
        if self.tags {
            words.push("tags");
        }
        f.write_str(&words.join(","))
    }
}

impl FromStr for GroupBy {
    type Err = RetentionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::parse(s)
    }
}

/// What retention needs to know of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub id: String,
    /// The snapshot's time with the UTC offset it was stored with.
    pub time: DateTime<FixedOffset>,
    pub hostname: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
}

/// The key of one group, as restic's JSON `group_key`: fields not grouped on
/// are empty; `paths` and `tags` are sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    pub hostname: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
}

impl GroupKey {
    /// The key of `snapshot` under `group_by`.
    #[must_use]
    pub fn of(snapshot: &SnapshotInfo, group_by: GroupBy) -> GroupKey {
        let mut key = GroupKey::default();
        if group_by.host {
            key.hostname.clone_from(&snapshot.hostname);
        }
        if group_by.paths {
            key.paths.clone_from(&snapshot.paths);
            key.paths.sort();
        }
        if group_by.tags {
            key.tags.clone_from(&snapshot.tags);
            key.tags.sort();
        }
        key
    }
}

/// The decision for one group. `keep` and `remove` are ordered newest first;
/// each kept id comes with the reasons ("matches") that kept it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgetGroup {
    pub key: GroupKey,
    pub keep: Vec<(String, Vec<String>)>,
    pub remove: Vec<String>,
}

/// Reason texts, exactly as restic 0.14 writes them in `matches`.
const REASON_LAST: &str = "last snapshot";
const REASON_HOURLY: &str = "hourly snapshot";
const REASON_DAILY: &str = "daily snapshot";
const REASON_WEEKLY: &str = "weekly snapshot";
const REASON_MONTHLY: &str = "monthly snapshot";
const REASON_YEARLY: &str = "yearly snapshot";

/// Bucket functions, with restic's integer encodings (`nr` is the snapshot's
/// position in its group, newest first, used by keep-last only).
type Bucketer = fn(&DateTime<FixedOffset>, usize) -> i64;

fn bucket_position(_: &DateTime<FixedOffset>, nr: usize) -> i64 {
    i64::try_from(nr).unwrap_or(i64::MAX)
}
fn bucket_hour(t: &DateTime<FixedOffset>, _: usize) -> i64 {
    i64::from(t.year()) * 1_000_000
        + i64::from(t.month()) * 10_000
        + i64::from(t.day()) * 100
        + i64::from(t.hour())
}
fn bucket_day(t: &DateTime<FixedOffset>, _: usize) -> i64 {
    i64::from(t.year()) * 10_000 + i64::from(t.month()) * 100 + i64::from(t.day())
}
fn bucket_week(t: &DateTime<FixedOffset>, _: usize) -> i64 {
    let w = t.iso_week();
    i64::from(w.year()) * 100 + i64::from(w.week())
}
fn bucket_month(t: &DateTime<FixedOffset>, _: usize) -> i64 {
    i64::from(t.year()) * 100 + i64::from(t.month())
}
fn bucket_year(t: &DateTime<FixedOffset>, _: usize) -> i64 {
    i64::from(t.year())
}

/// One counted rule while a group is walked.
struct Rule {
    remaining: u32,
    bucket: Bucketer,
    /// Bucket of the snapshot this rule kept last; restic starts it at -1 (so a
    /// bucket value of -1, year -1, would never count — kept for exactness).
    last_kept: i64,
    reason: &'static str,
}

/// A snapshot carries a tag list the way restic's `HasTags` decides it: every
/// tag must be present, except that an empty tag met while the snapshot has no
/// tag at all accepts the snapshot at once.
fn has_tag_list(snapshot: &SnapshotInfo, list: &[String]) -> bool {
    for tag in list {
        if tag.is_empty() && snapshot.tags.is_empty() {
            return true;
        }
        if !snapshot.tags.iter().any(|t| t == tag) {
            return false;
        }
    }
    true
}

/// Decides one group; `members` must already be newest first.
fn apply_to_group(
    key: GroupKey,
    members: &[&SnapshotInfo],
    policy: &KeepPolicy,
    tag_lists: &[Vec<String>],
) -> ForgetGroup {
    let mut rules = [
        (policy.last, bucket_position as Bucketer, REASON_LAST),
        (policy.hourly, bucket_hour, REASON_HOURLY),
        (policy.daily, bucket_day, REASON_DAILY),
        (policy.weekly, bucket_week, REASON_WEEKLY),
        (policy.monthly, bucket_month, REASON_MONTHLY),
        (policy.yearly, bucket_year, REASON_YEARLY),
    ]
    .map(|(remaining, bucket, reason)| Rule {
        remaining,
        bucket,
        last_kept: -1,
        reason,
    });

    let mut group = ForgetGroup {
        key,
        keep: Vec::new(),
        remove: Vec::new(),
    };
    for (nr, snapshot) in members.iter().enumerate() {
        let mut reasons = Vec::new();
        for list in tag_lists {
            if has_tag_list(snapshot, list) {
                reasons.push(format!("has tags [{}]", list.join(", ")));
            }
        }
        for rule in &mut rules {
            if rule.remaining == 0 {
                continue;
            }
            let value = (rule.bucket)(&snapshot.time, nr);
            if value != rule.last_kept {
                rule.last_kept = value;
                rule.remaining -= 1;
                reasons.push(rule.reason.to_string());
            }
        }
        if reasons.is_empty() {
            group.remove.push(snapshot.id.clone());
        } else {
            group.keep.push((snapshot.id.clone(), reasons));
        }
    }
    group
}

/// Applies `policy` to `snapshots` grouped by `group_by`, as `restic forget`
/// (0.14) does. Returns one [`ForgetGroup`] per group, ordered by key; an empty
/// policy returns no group (restic removes nothing and reports nothing).
#[must_use]
pub fn apply(
    snapshots: &[SnapshotInfo],
    policy: &KeepPolicy,
    group_by: GroupBy,
) -> Vec<ForgetGroup> {
    if policy.is_empty() {
        return Vec::new();
    }
    let tag_lists = policy.tag_lists();

    let mut groups: BTreeMap<GroupKey, Vec<&SnapshotInfo>> = BTreeMap::new();
    for snapshot in snapshots {
        groups
            .entry(GroupKey::of(snapshot, group_by))
            .or_default()
            .push(snapshot);
    }

    groups
        .into_iter()
        .map(|(key, mut members)| {
            // Newest first by instant; equal instants by id (restic: listing order).
            members.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.id.cmp(&b.id)));
            apply_to_group(key, &members, policy, &tag_lists)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One snapshot of a case: id, RFC 3339 time, host, paths, tags.
    type Snap = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    /// One expected group: (hostname, paths, tags) key, kept ids with reasons, removed ids.
    type Expect = (
        (
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        ),
        &'static [(&'static str, &'static [&'static str])],
        &'static [&'static str],
    );

    struct Case {
        name: &'static str,
        snaps: &'static [Snap],
        policy: KeepPolicy,
        group_by: GroupBy,
        expect: &'static [Expect],
    }

    const P: &[&str] = &["/data"];
    const NO_TAGS: &[&str] = &[];
    const LAST: &str = "last snapshot";
    const HOURLY: &str = "hourly snapshot";
    const DAILY: &str = "daily snapshot";
    const WEEKLY: &str = "weekly snapshot";
    const MONTHLY: &str = "monthly snapshot";
    const YEARLY: &str = "yearly snapshot";

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
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn to_infos(snaps: &[Snap]) -> Vec<SnapshotInfo> {
        snaps
            .iter()
            .map(|(id, time, host, paths, tags)| SnapshotInfo {
                id: id.to_string(),
                time: DateTime::parse_from_rfc3339(time)
                    .unwrap_or_else(|e| panic!("bad time {time}: {e}")),
                hostname: host.to_string(),
                paths: strings(paths),
                tags: strings(tags),
            })
            .collect()
    }

    fn expected(expect: &[Expect]) -> Vec<ForgetGroup> {
        expect
            .iter()
            .map(|((host, paths, tags), keep, remove)| ForgetGroup {
                key: GroupKey {
                    hostname: host.to_string(),
                    paths: strings(paths),
                    tags: strings(tags),
                },
                keep: keep
                    .iter()
                    .map(|(id, why)| (id.to_string(), strings(why)))
                    .collect(),
                remove: strings(remove),
            })
            .collect()
    }

    fn cases() -> Vec<Case> {
        let hp = GroupBy::HOST_PATHS;
        vec![
            Case {
                name: "keep-last keeps the N newest",
                snaps: &[
                    ("s1", "2023-01-01T10:00:00Z", "h", P, NO_TAGS),
                    ("s3", "2023-01-03T10:00:00Z", "h", P, NO_TAGS),
                    ("s2", "2023-01-02T10:00:00Z", "h", P, NO_TAGS),
                    ("s5", "2023-01-05T10:00:00Z", "h", P, NO_TAGS),
                    ("s4", "2023-01-04T10:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(3, 0, 0, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("s5", &[LAST]), ("s4", &[LAST]), ("s3", &[LAST])],
                    &["s2", "s1"],
                )],
            },
            Case {
                name: "keep-last larger than the group keeps all",
                snaps: &[
                    ("s1", "2023-01-01T10:00:00Z", "h", P, NO_TAGS),
                    ("s2", "2023-01-02T10:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(10, 0, 0, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(("h", P, NO_TAGS), &[("s2", &[LAST]), ("s1", &[LAST])], &[])],
            },
            Case {
                name: "keep-daily: newest of each day, same-day ties removed",
                snaps: &[
                    ("d1", "2023-03-01T08:00:00Z", "h", P, NO_TAGS),
                    ("d2", "2023-03-01T20:00:00Z", "h", P, NO_TAGS),
                    ("d3", "2023-03-02T09:00:00Z", "h", P, NO_TAGS),
                    ("d4", "2023-03-02T09:30:00Z", "h", P, NO_TAGS),
                    ("d5", "2023-03-04T00:00:00Z", "h", P, NO_TAGS),
                    ("d6", "2023-03-04T23:59:59Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 2, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("d6", &[DAILY]), ("d4", &[DAILY])],
                    &["d5", "d3", "d2", "d1"],
                )],
            },
            Case {
                name: "keep-hourly across a day boundary",
                snaps: &[
                    ("h1", "2023-05-01T22:10:00Z", "h", P, NO_TAGS),
                    ("h2", "2023-05-01T22:50:00Z", "h", P, NO_TAGS),
                    ("h3", "2023-05-01T23:05:00Z", "h", P, NO_TAGS),
                    ("h4", "2023-05-02T00:01:00Z", "h", P, NO_TAGS),
                    ("h5", "2023-05-02T00:59:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 3, 0, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("h5", &[HOURLY]), ("h3", &[HOURLY]), ("h2", &[HOURLY])],
                    &["h4", "h1"],
                )],
            },
            Case {
                name: "keep-weekly uses ISO weeks: 2020-W53 spans new year",
                snaps: &[
                    ("w1", "2020-12-21T10:00:00Z", "h", P, NO_TAGS), // 2020-W52
                    ("w2", "2020-12-28T10:00:00Z", "h", P, NO_TAGS), // 2020-W53
                    ("w3", "2021-01-01T10:00:00Z", "h", P, NO_TAGS), // 2020-W53
                    ("w4", "2021-01-03T23:00:00Z", "h", P, NO_TAGS), // 2020-W53 (Sunday)
                    ("w5", "2021-01-04T01:00:00Z", "h", P, NO_TAGS), // 2021-W01 (Monday)
                    ("w6", "2021-01-10T12:00:00Z", "h", P, NO_TAGS), // 2021-W01
                ],
                policy: policy(0, 0, 0, 3, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("w6", &[WEEKLY]), ("w4", &[WEEKLY]), ("w1", &[WEEKLY])],
                    &["w5", "w3", "w2"],
                )],
            },
            Case {
                name: "ISO week vs calendar year: weekly and yearly disagree at new year",
                snaps: &[
                    ("y1", "2020-12-31T12:00:00Z", "h", P, NO_TAGS), // 2020, 2020-W53
                    ("y2", "2021-01-02T12:00:00Z", "h", P, NO_TAGS), // 2021, 2020-W53
                    ("y3", "2021-01-05T12:00:00Z", "h", P, NO_TAGS), // 2021, 2021-W01
                ],
                policy: policy(0, 0, 0, 2, 0, 2, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[
                        ("y3", &[WEEKLY, YEARLY]),
                        ("y2", &[WEEKLY]),
                        ("y1", &[YEARLY]),
                    ],
                    &[],
                )],
            },
            Case {
                name: "keep-monthly and keep-yearly spanning years",
                snaps: &[
                    ("a1", "2019-06-15T12:00:00Z", "h", P, NO_TAGS),
                    ("a2", "2019-12-15T12:00:00Z", "h", P, NO_TAGS),
                    ("a3", "2020-03-15T12:00:00Z", "h", P, NO_TAGS),
                    ("a4", "2020-11-15T12:00:00Z", "h", P, NO_TAGS),
                    ("a5", "2021-01-15T12:00:00Z", "h", P, NO_TAGS),
                    ("a6", "2021-01-20T12:00:00Z", "h", P, NO_TAGS),
                    ("a7", "2021-02-15T12:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 0, 0, 2, 3, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[
                        ("a7", &[MONTHLY, YEARLY]),
                        ("a6", &[MONTHLY]),
                        ("a4", &[YEARLY]),
                        ("a2", &[YEARLY]),
                    ],
                    &["a5", "a3", "a1"],
                )],
            },
            Case {
                name: "keep-yearly counts years present, not calendar years",
                snaps: &[
                    ("y2010", "2010-07-01T00:00:00Z", "h", P, NO_TAGS),
                    ("y2012a", "2012-02-01T00:00:00Z", "h", P, NO_TAGS),
                    ("y2012b", "2012-09-01T00:00:00Z", "h", P, NO_TAGS),
                    ("y2019", "2019-01-01T00:00:00Z", "h", P, NO_TAGS),
                    ("y2008", "2008-01-01T00:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 0, 0, 0, 3, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[
                        ("y2019", &[YEARLY]),
                        ("y2012b", &[YEARLY]),
                        ("y2010", &[YEARLY]),
                    ],
                    &["y2012a", "y2008"],
                )],
            },
            Case {
                name: "every rule at once, reasons in restic's order",
                snaps: &[
                    ("c1", "2022-12-30T10:00:00Z", "h", P, NO_TAGS),
                    ("c2", "2023-01-02T09:00:00Z", "h", P, NO_TAGS),
                    ("c3", "2023-01-02T09:30:00Z", "h", P, NO_TAGS),
                    ("c4", "2023-01-02T15:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(1, 1, 2, 2, 2, 2, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[
                        ("c4", &[LAST, HOURLY, DAILY, WEEKLY, MONTHLY, YEARLY]),
                        ("c1", &[DAILY, WEEKLY, MONTHLY, YEARLY]),
                    ],
                    &["c3", "c2"],
                )],
            },
            Case {
                name: "host,paths groups are independent; paths sorted in the key",
                snaps: &[
                    ("a1", "2023-01-01T00:00:00Z", "a", &["/x"], NO_TAGS),
                    ("a2", "2023-01-02T00:00:00Z", "a", &["/x"], NO_TAGS),
                    ("a3", "2023-01-03T00:00:00Z", "a", &["/x"], NO_TAGS),
                    ("ay", "2023-01-02T00:00:00Z", "a", &["/y"], NO_TAGS),
                    ("b1", "2023-01-01T00:00:00Z", "b", &["/x"], NO_TAGS),
                    ("b2", "2023-01-03T00:00:00Z", "b", &["/x"], NO_TAGS),
                    ("bxy", "2023-01-04T00:00:00Z", "b", &["/y", "/x"], NO_TAGS),
                    ("bxy2", "2023-01-05T00:00:00Z", "b", &["/x", "/y"], NO_TAGS),
                ],
                policy: policy(1, 0, 2, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[
                    (
                        ("a", &["/x"], NO_TAGS),
                        &[("a3", &[LAST, DAILY]), ("a2", &[DAILY])],
                        &["a1"],
                    ),
                    (("a", &["/y"], NO_TAGS), &[("ay", &[LAST, DAILY])], &[]),
                    (
                        ("b", &["/x"], NO_TAGS),
                        &[("b2", &[LAST, DAILY]), ("b1", &[DAILY])],
                        &[],
                    ),
                    (
                        ("b", &["/x", "/y"], NO_TAGS),
                        &[("bxy2", &[LAST, DAILY]), ("bxy", &[DAILY])],
                        &[],
                    ),
                ],
            },
            Case {
                name: "no grouping judges all hosts together",
                snaps: &[
                    ("a1", "2023-01-01T00:00:00Z", "a", &["/x"], NO_TAGS),
                    ("b1", "2023-01-02T00:00:00Z", "b", &["/y"], &["t"]),
                    ("a2", "2023-01-03T00:00:00Z", "a", &["/x"], NO_TAGS),
                ],
                policy: policy(2, 0, 0, 0, 0, 0, &[]),
                group_by: GroupBy::NONE,
                expect: &[(
                    ("", &[], NO_TAGS),
                    &[("a2", &[LAST]), ("b1", &[LAST])],
                    &["a1"],
                )],
            },
            Case {
                name: "group by host only merges paths",
                snaps: &[
                    ("a1", "2023-01-01T00:00:00Z", "a", &["/x"], NO_TAGS),
                    ("a2", "2023-01-02T00:00:00Z", "a", &["/y"], NO_TAGS),
                    ("b1", "2023-01-03T00:00:00Z", "b", &["/x"], NO_TAGS),
                ],
                policy: policy(1, 0, 0, 0, 0, 0, &[]),
                group_by: GroupBy {
                    host: true,
                    paths: false,
                    tags: false,
                },
                expect: &[
                    (("a", &[], NO_TAGS), &[("a2", &[LAST])], &["a1"]),
                    (("b", &[], NO_TAGS), &[("b1", &[LAST])], &[]),
                ],
            },
            Case {
                name: "group by tags: tag order does not matter, untagged is its own group",
                snaps: &[
                    ("x1", "2023-01-01T00:00:00Z", "h", P, &["x"]),
                    ("x2", "2023-01-02T00:00:00Z", "h", P, &["x"]),
                    ("xy1", "2023-01-03T00:00:00Z", "h", P, &["y", "x"]),
                    ("xy2", "2023-01-04T00:00:00Z", "h", P, &["x", "y"]),
                    ("n1", "2023-01-05T00:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(1, 0, 0, 0, 0, 0, &[]),
                group_by: GroupBy {
                    host: false,
                    paths: false,
                    tags: true,
                },
                expect: &[
                    (("", &[], NO_TAGS), &[("n1", &[LAST])], &[]),
                    (("", &[], &["x"]), &[("x2", &[LAST])], &["x1"]),
                    (("", &[], &["x", "y"]), &[("xy2", &[LAST])], &["xy1"]),
                ],
            },
            Case {
                name: "keep-tag: single tags, tag sets (trimmed), reasons before counted rules",
                snaps: &[
                    ("t1", "2023-01-01T00:00:00Z", "h", P, &["prod"]),
                    ("t2", "2023-01-02T00:00:00Z", "h", P, &["a"]),
                    ("t3", "2023-01-03T00:00:00Z", "h", P, &["b", "a"]),
                    ("t4", "2023-01-04T00:00:00Z", "h", P, &["a", "b", "prod"]),
                    ("t5", "2023-01-05T00:00:00Z", "h", P, NO_TAGS),
                    ("t0", "2022-12-31T00:00:00Z", "h", P, &["other"]),
                ],
                policy: policy(2, 0, 0, 0, 0, 0, &["prod", "a, b"]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[
                        ("t5", &[LAST]),
                        ("t4", &["has tags [prod]", "has tags [a, b]", LAST]),
                        ("t3", &["has tags [a, b]"]),
                        ("t1", &["has tags [prod]"]),
                    ],
                    &["t2", "t0"],
                )],
            },
            Case {
                name: "keep-tag \"\" keeps exactly the untagged snapshots",
                snaps: &[
                    ("u1", "2023-01-01T00:00:00Z", "h", P, NO_TAGS),
                    ("u2", "2023-01-02T00:00:00Z", "h", P, &["x"]),
                    ("u3", "2023-01-03T00:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 0, 0, 0, 0, &[""]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("u3", &["has tags []"]), ("u1", &["has tags []"])],
                    &["u2"],
                )],
            },
            Case {
                name: "empty policy: no groups, nothing removed",
                snaps: &[
                    ("e1", "2023-01-01T00:00:00Z", "h", P, NO_TAGS),
                    ("e2", "2023-01-02T00:00:00Z", "h", P, NO_TAGS),
                ],
                policy: KeepPolicy::default(),
                group_by: hp,
                expect: &[],
            },
            Case {
                name: "buckets use each snapshot's own UTC offset",
                snaps: &[
                    // 2023-06-02T04:30Z, but 2023-06-01 in its own offset.
                    ("o1", "2023-06-01T23:30:00-05:00", "h", P, NO_TAGS),
                    ("o2", "2023-06-02T01:00:00+00:00", "h", P, NO_TAGS),
                    ("o3", "2023-06-02T00:30:00+00:00", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 3, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("o1", &[DAILY]), ("o2", &[DAILY])],
                    &["o3"],
                )],
            },
            Case {
                name: "mixed offsets can revisit a bucket (A, B, A): each visit counts",
                snaps: &[
                    ("x1", "2023-06-02T02:00:00Z", "h", P, NO_TAGS), // day 06-02
                    ("x2", "2023-06-01T22:00:00-05:00", "h", P, NO_TAGS), // 03:00Z, day 06-01
                    ("x3", "2023-06-02T04:00:00Z", "h", P, NO_TAGS), // day 06-02
                ],
                policy: policy(0, 0, 5, 0, 0, 0, &[]),
                group_by: hp,
                expect: &[(
                    ("h", P, NO_TAGS),
                    &[("x3", &[DAILY]), ("x2", &[DAILY]), ("x1", &[DAILY])],
                    &[],
                )],
            },
            Case {
                name: "equal instants are ordered by id",
                snaps: &[
                    ("b", "2023-01-01T00:00:00Z", "h", P, NO_TAGS),
                    ("a", "2023-01-01T01:00:00+01:00", "h", P, NO_TAGS),
                    ("c", "2022-12-31T00:00:00Z", "h", P, NO_TAGS),
                ],
                policy: policy(0, 0, 1, 0, 0, 1, &[]),
                group_by: hp,
                // "a" (first) is 2023-01-01 01:00 in its own offset.
                expect: &[(("h", P, NO_TAGS), &[("a", &[DAILY, YEARLY])], &["b", "c"])],
            },
        ]
    }

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for case in cases() {
            let got = apply(&to_infos(case.snaps), &case.policy, case.group_by);
            let want = expected(case.expect);
            if got != want {
                failures.push(format!(
                    "case {:?}:\n  want {:#?}\n  got  {:#?}",
                    case.name, want, got
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn input_order_does_not_matter() {
        for case in cases() {
            let mut infos = to_infos(case.snaps);
            let forward = apply(&infos, &case.policy, case.group_by);
            infos.reverse();
            assert_eq!(
                apply(&infos, &case.policy, case.group_by),
                forward,
                "case {:?}",
                case.name
            );
        }
    }

    #[test]
    fn every_snapshot_is_decided_once() {
        for case in cases().into_iter().filter(|c| !c.policy.is_empty()) {
            let groups = apply(&to_infos(case.snaps), &case.policy, case.group_by);
            let mut ids: Vec<&str> = groups
                .iter()
                .flat_map(|g| {
                    g.keep
                        .iter()
                        .map(|(id, _)| id.as_str())
                        .chain(g.remove.iter().map(String::as_str))
                })
                .collect();
            ids.sort();
            let mut want: Vec<&str> = case.snaps.iter().map(|s| s.0).collect();
            want.sort();
            assert_eq!(ids, want, "case {:?}", case.name);
        }
    }

    #[test]
    fn group_by_parse() {
        let g = |h, p, t| GroupBy {
            host: h,
            paths: p,
            tags: t,
        };
        for (input, want) in [
            ("host,paths", g(true, true, false)),
            ("hosts,path", g(true, true, false)),
            ("", GroupBy::NONE),
            ("tag", g(false, false, true)),
            ("tags,host", g(true, false, true)),
            ("host,,tags", g(true, false, true)),
            ("paths", g(false, true, false)),
        ] {
            assert_eq!(GroupBy::parse(input), Ok(want), "{input:?}");
        }
        assert_eq!(
            GroupBy::parse("foo"),
            Err(RetentionError::UnknownGroupOption("foo".into()))
        );
        assert_eq!(
            GroupBy::parse("host, paths").unwrap_err().to_string(),
            "unknown grouping option: ' paths'"
        );
        assert_eq!(GroupBy::default(), GroupBy::HOST_PATHS);
        assert_eq!(GroupBy::HOST_PATHS.to_restic_arg(), "host,paths");
        assert_eq!(GroupBy::NONE.to_restic_arg(), "");
        assert_eq!(
            "host,paths,tags".parse::<GroupBy>().unwrap().to_string(),
            "host,paths,tags"
        );
    }

    #[test]
    fn policy_helpers() {
        assert!(KeepPolicy::default().is_empty());
        assert!(!policy(0, 0, 0, 0, 0, 1, &[]).is_empty());
        assert!(!policy(0, 0, 0, 0, 0, 0, &[""]).is_empty());
        assert_eq!(keep_count(-1), 0);
        assert_eq!(keep_count(0), 0);
        assert_eq!(keep_count(7), 7);
        assert_eq!(keep_count(i64::MAX), u32::MAX);
        assert_eq!(
            policy(0, 0, 0, 0, 0, 0, &["a, b", "", "c"]).tag_lists(),
            vec![strings(&["a", "b"]), strings(&[""]), strings(&["c"])]
        );
        assert_eq!(
            policy(3, 0, 7, 0, 0, 1, &["a,b", ""]).to_restic_args(),
            strings(&[
                "--keep-last",
                "3",
                "--keep-daily",
                "7",
                "--keep-yearly",
                "1",
                "--keep-tag=a,b",
                "--keep-tag="
            ])
        );
    }

    #[test]
    fn tag_list_matching_follows_restic() {
        let sn = |tags: &[&str]| SnapshotInfo {
            id: "x".into(),
            time: DateTime::parse_from_rfc3339("2023-01-01T00:00:00Z").unwrap(),
            hostname: "h".into(),
            paths: vec![],
            tags: strings(tags),
        };
        let l = |v: &[&str]| strings(v);
        assert!(has_tag_list(&sn(&["a", "b"]), &l(&["a", "b"])));
        assert!(!has_tag_list(&sn(&["a"]), &l(&["a", "b"])));
        assert!(has_tag_list(&sn(&[]), &l(&[""])));
        assert!(!has_tag_list(&sn(&["a"]), &l(&[""])));
        // An empty tag accepts an untagged snapshot at once, whatever follows...
        assert!(has_tag_list(&sn(&[]), &l(&["", "z"])));
        // ...but not when a real tag comes first.
        assert!(!has_tag_list(&sn(&[]), &l(&["z", ""])));
        assert!(!has_tag_list(&sn(&["a"]), &l(&["a", ""])));
    }
}
