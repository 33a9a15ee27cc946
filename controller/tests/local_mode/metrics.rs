//! Metrics (check 36): a finished session's metrics, and its Repository's, in a real
//! Pushgateway (the one integration/scripts/services.sh starts, read back through its own
//! `/metrics`) and on `stash run --metrics-addr`; the repository's snapshot count judged by
//! `restic snapshots`; a push that cannot reach its Pushgateway fails the session and says
//! where it pushed. Each test has its own BackupConfiguration name, so its Pushgateway job
//! (`backupconfiguration-demo-<name>`) is its own.
use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::fixtures::*;

/// The Pushgateway's `host:port`, after checking it listens.
fn pushgateway() -> String {
    let port: u16 = std::env::var("STASH_PUSHGATEWAY_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(9104);
    let addr = format!("127.0.0.1:{port}");
    assert!(
        TcpStream::connect(&addr).is_ok(),
        "the Pushgateway is not listening on {addr}: run integration/scripts/services.sh start"
    );
    addr
}

/// `METHOD http://<addr><path>`: the body of a 2xx answer.
fn http(method: &str, addr: &str, path: &str) -> String {
    let mut c = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    write!(c, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.lines().next().unwrap_or_default();
    assert!(
        status.starts_with("HTTP/1.")
            && status.split(' ').nth(1).is_some_and(|c| c.starts_with('2')),
        "{method} {path}: {head}\n{body}"
    );
    body.to_string()
}

pub(super) fn http_get(addr: &str, path: &str) -> String {
    http("GET", addr, path)
}

/// The values of the samples of `name` whose labels include all of `labels`.
pub(super) fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            let rest = format!(",{rest}");
            (n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!(",{k}=\"{v}\""))))
            .then(|| value.parse().unwrap())
        })
        .collect()
}

/// The one sample of `name` with `labels`, failing with the whole exposition if not exactly one.
pub(super) fn one(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(text, name, labels);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?} in\n{text}");
    found[0]
}

/// A BackupConfiguration name no other test (or earlier run) uses.
fn unique_name() -> String {
    unique("metrics").replace('_', "-")
}

/// A Local with a filled PostgreSQL database and BackupConfiguration `name` backing it up.
fn pg_setup(name: &str) -> (Local, PgDb) {
    let l = Local::new();
    let src = PgDb::create("stash_lm_metrics");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 5, 5).replace("name: pg-backup", &format!("name: {name}")),
    );
    (l, src)
}

fn session_named(l: &Local, name: &str) -> Value {
    l.get("BackupSession", name)
        .unwrap_or_else(|| panic!("no BackupSession {name}"))
}

/// Check 36: after a successful session the Pushgateway holds its `success 1`, duration and
/// host metrics under the invoker's job, and the Repository's metrics, whose snapshot count
/// is restic's; after a failed session (a pre-backup hook exits 1) `success 0`, while the
/// previous success's duration stays (POST replaces only the names pushed).
#[test]
fn check_36_pushgateway_holds_session_and_repository_metrics() {
    let gw = pushgateway();
    let url = format!("http://{gw}");
    let name = unique_name();
    let job = format!("backupconfiguration-demo-{name}");
    // Nothing of an earlier run under this job (the Pushgateway keeps what it was given).
    http("DELETE", &gw, &format!("/metrics/job/{job}"));
    let (l, _src) = pg_setup(&name);
    let out = l
        .stash(&["run", "--once", "--pushgateway-url", &url])
        .output()
        .unwrap();
    assert_ok(&out);
    let s = succeeded_session(&l);
    let st = &s["status"];
    for ty in ["MetricsPushed", "RepositoryMetricsPushed"] {
        let (status, message) = condition(&st["conditions"], ty).unwrap();
        assert_eq!(status, "True", "{ty}: {message}");
        assert!(message.contains(&url), "{ty}: {message}");
    }

    let exposed = http_get(&gw, "/metrics");
    let session = [
        ("job", job.as_str()),
        ("invoker_kind", "BackupConfiguration"),
        ("invoker_name", name.as_str()),
        ("namespace", "demo"),
        ("driver", "Restic"),
        ("repository", "repo"),
    ];
    let b = |n: &str| format!("stash_appscode_com_backupsession_{n}");
    assert_eq!(one(&exposed, &b("success"), &session), 1.0);
    assert_eq!(one(&exposed, &b("target_count_total"), &session), 1.0);
    let duration = one(&exposed, &b("duration_seconds"), &session);
    assert!(duration >= 0.0, "{duration}");
    let target = [
        ("job", job.as_str()),
        ("kind", "postgres"),
        ("group", "kubedb.com"),
        ("name", "pg-src"),
    ];
    assert_eq!(one(&exposed, &b("target_success"), &target), 1.0);
    assert_eq!(one(&exposed, &b("target_host_count_total"), &target), 1.0);
    let host = [("job", job.as_str()), ("hostname", "host-0")];
    assert_eq!(one(&exposed, &b("host_backup_success"), &host), 1.0);
    assert_eq!(one(&exposed, &b("host_files_total"), &host), 1.0);
    assert!(
        one(&exposed, &b("host_data_size_bytes"), &host) > 0.0,
        "{exposed}"
    );

    let snapshots = l.restic_snapshots().len();
    assert_eq!(snapshots, 1);
    let repo_prefix = l.repo.display().to_string();
    let repo = [
        ("job", job.as_str()),
        ("name", "repo"),
        ("namespace", "demo"),
        ("backend", "local"),
        ("prefix", repo_prefix.as_str()),
    ];
    let r = |n: &str| format!("stash_appscode_com_repository_{n}");
    assert_eq!(one(&exposed, &r("snapshot_count"), &repo), snapshots as f64);
    assert_eq!(one(&exposed, &r("integrity"), &repo), 1.0);
    assert!(one(&exposed, &r("size_bytes"), &repo) > 0.0, "{exposed}");

    // A failing session of the same invoker: a pre-backup hook that exits 1.
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 5, 5)
            .replace("name: pg-backup", &format!("name: {name}"))
            .replace(
                "  retentionPolicy:",
                "  hooks:\n    preBackup:\n      exec:\n        command: [sh, -c, 'exit 1']\n  retentionPolicy:",
            ),
    );
    let failing = l.trigger(&name);
    let out = l
        .stash(&["run", "--once", "--pushgateway-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failing session failed --once");
    let s = session_named(&l, &failing);
    assert_eq!(text(&s, "/status/phase"), "Failed", "{s:#}");
    let (status, _) = condition(&s["status"]["conditions"], "MetricsPushed").unwrap();
    assert_eq!(status, "True", "{s:#}");

    let exposed = http_get(&gw, "/metrics");
    assert_eq!(one(&exposed, &b("success"), &session), 0.0);
    assert_eq!(one(&exposed, &b("target_success"), &target), 0.0);
    // The last success's duration and the Repository (untouched by the failure) remain.
    assert_eq!(one(&exposed, &b("duration_seconds"), &session), duration);
    assert_eq!(l.restic_snapshots().len(), snapshots);
    assert_eq!(one(&exposed, &r("snapshot_count"), &repo), snapshots as f64);
}

/// `stash run --metrics-addr 127.0.0.1:0` serves `/metrics` while it runs: after a triggered
/// session, its success, each host's duration as the session's status has it, and the
/// Repository's snapshot count as restic counts them.
#[test]
fn stash_run_metrics_addr_serves_the_sessions_metrics() {
    let name = unique_name();
    let (l, _src) = pg_setup(&name);
    let log = std::fs::File::create(l.tmp.path().join("run.log")).unwrap();
    let child = l
        .stash(&["run", "--metrics-addr", "127.0.0.1:0"])
        .env_remove("STASH_PUSHGATEWAY_URL")
        .stdout(std::process::Stdio::from(log.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(log))
        .spawn()
        .unwrap();
    let _run = Running(child);
    let mut addr = String::new();
    l.wait_for("the metrics address", 30, || {
        let log = l.run_log();
        let found = log
            .lines()
            .find_map(|line| line.strip_prefix("stash run: metrics at http://"))
            .and_then(|rest| rest.strip_suffix("/metrics"));
        if let Some(a) = found {
            addr = a.to_string();
        }
        !addr.is_empty()
    });
    l.wait_for("Ready", 60, || {
        l.get("BackupConfiguration", &name)
            .is_some_and(|bc| text(&bc, "/status/phase") == "Ready")
    });
    let session = l.trigger(&name);
    l.wait_for("the session to succeed", 120, || {
        l.phase("BackupSession", &session) == "Succeeded"
    });
    let s = session_named(&l, &session);
    let metrics = http_get(&addr, "/metrics");
    let labels = [("invoker_name", name.as_str()), ("namespace", "demo")];
    let b = |n: &str| format!("stash_appscode_com_backupsession_{n}");
    assert_eq!(one(&metrics, &b("success"), &labels), 1.0);
    let hosts = s["status"]["targets"][0]["stats"].as_array().unwrap();
    assert!(!hosts.is_empty(), "{s:#}");
    for h in hosts {
        let host = text(h, "/hostname");
        let want = go_seconds(&text(h, "/duration"));
        let mut hl = labels.to_vec();
        hl.push(("hostname", host.as_str()));
        let got = one(&metrics, &b("host_backup_duration_seconds"), &hl);
        assert!((got - want).abs() < 1e-9, "{host}: {got} vs {want}");
        assert_eq!(one(&metrics, &b("host_backup_success"), &hl), 1.0);
    }
    let count = one(
        &metrics,
        "stash_appscode_com_repository_snapshot_count",
        &[("name", "repo"), ("namespace", "demo")],
    );
    assert_eq!(count, l.restic_snapshots().len() as f64);
}

/// A push to a Pushgateway that is not there fails the session: `MetricsPushed=False` with
/// the URL and the error in its message (and `RepositoryMetricsPushed=False` likewise).
#[test]
fn an_unreachable_pushgateway_makes_metrics_pushed_false_naming_the_url() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let name = unique_name();
    let (l, _src) = pg_setup(&name);
    let out = l
        .stash(&["run", "--once", "--pushgateway-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failed push fails --once");
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    for ty in ["MetricsPushed", "RepositoryMetricsPushed"] {
        let (status, message) = condition(&s["status"]["conditions"], ty).unwrap();
        assert_eq!(status, "False", "{ty}: {s:#}");
        assert!(
            message.contains(&format!(
                "{url}/metrics/job/backupconfiguration-demo-{name}"
            )),
            "{ty}: {message}"
        );
        assert!(
            message.to_lowercase().contains("connect"),
            "{ty}: {message}"
        );
    }
    // The backup itself succeeded: only the metrics failed.
    assert_eq!(l.restic_snapshots().len(), 1);
}

/// Seconds of a Go duration as the session's status prints them (`12.5s`, `1m2.5s`, `250ms`).
pub(super) fn go_seconds(d: &str) -> f64 {
    stash::api::validate::syntax::parse_go_duration(d).unwrap_or_else(|e| panic!("{d:?}: {e}"))
}
