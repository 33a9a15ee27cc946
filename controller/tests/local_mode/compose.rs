//! The Docker Compose stack: `docker-compose.yml`, `.env`, the `Dockerfile` and
//! `examples/compose`. There is no Docker engine here, so the stack is judged in two halves:
//! the files by the tools Docker's users would run (docker-compose's reading of the Compose
//! Specification, hadolint), and the manifests by running them in local mode on this machine
//! against servers of the same kinds the stack starts (PostgreSQL, MariaDB, Redis, the
//! MongoDB-wire server, the S3 server moto). What that leaves unproved: the images' own
//! behaviour (their init scripts, health checks and the stack's DNS names).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use stash_integration::pgcluster::Pg;

use super::fixtures::*;
use super::repository::{s3, S3};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A tool installed by integration/scripts/install-tools.sh into its `venv-compose` (the
/// same cache folder rule as its cache-dir.sh).
fn tool(name: &str) -> PathBuf {
    let cache = std::env::var_os("STASH_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            let ci = PathBuf::from("/var/cache/stash-ci");
            ci.join("venv-compose").exists().then_some(ci)
        })
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/stash"));
    let path = cache.join("venv-compose/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run integration/scripts/install-tools.sh",
        path.display()
    );
    path
}

/// `.env`'s variables, in file order.
fn dot_env() -> Vec<(String, String)> {
    std::fs::read_to_string(root().join(".env"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// `docker-compose config` in `dir`, with none of `.env`'s variables inherited from this
/// process: the values come from the `.env` file next to the compose file.
fn compose_config(dir: &Path) -> Output {
    let mut c = Command::new(tool("docker-compose"));
    c.current_dir(dir)
        .args(["-f", "docker-compose.yml", "config"]);
    for (k, _) in dot_env() {
        c.env_remove(k);
    }
    c.output().unwrap()
}

/// Every `${NAME}` in the `stringData` of the Secrets of `examples/compose/manifests`.
fn secret_variables() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for f in walk(&root().join("examples/compose/manifests")) {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            if doc["kind"] != "Secret" {
                continue;
            }
            for v in doc["stringData"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
            {
                for part in v.as_str().unwrap().split("${").skip(1) {
                    names.insert(part.split('}').next().unwrap().to_string());
                }
            }
        }
    }
    names
}

/// docker-compose.yml is a valid Compose file (docker-compose 1.29's reading of the Compose
/// Specification, which checks every key and type) once `.env` supplies its variables, and
/// refuses to start without one of them, naming it. The stash service runs the image the
/// catalog's Functions name, gets every variable the manifests' Secrets use, and nothing
/// secret is written in the compose file or the manifests themselves; every file it mounts
/// exists.
#[test]
fn compose_file_is_valid_against_the_compose_specification() {
    let out = compose_config(&root());
    assert_ok_named("docker-compose config", &out);
    let config: Value = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let services = config["services"].as_object().unwrap();
    for s in ["postgres", "mariadb", "mongodb", "redis", "s3", "stash"] {
        assert!(services.contains_key(s), "service {s}: {config:#}");
        if s != "stash" {
            assert!(
                services[s].get("healthcheck").is_some(),
                "{s} has no healthcheck"
            );
        }
    }
    let stash = &services["stash"];

    let catalog = stash::api::catalog::Catalog::builtin().unwrap();
    let images: BTreeSet<String> = catalog
        .functions
        .values()
        .filter_map(|f| f.spec.image.as_deref())
        .map(|image| stash::api::resolve::subst::substitute(image, &BTreeMap::new()).unwrap())
        .collect();
    assert_eq!(
        images,
        BTreeSet::from([text(stash, "/image")]),
        "the catalog's Functions run the image the stack builds"
    );
    assert_eq!(
        text(stash, "/build/context"),
        root().canonicalize().unwrap().to_str().unwrap()
    );

    let env = dot_env();
    let given = stash["environment"].as_object().unwrap();
    let wanted = secret_variables();
    assert!(wanted.len() >= 6, "{wanted:?}");
    for name in &wanted {
        let value = env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        assert!(
            value.is_some_and(|v| !v.is_empty()),
            "{name} is not in .env"
        );
        assert_eq!(
            given.get(name).and_then(Value::as_str),
            value.map(String::as_str),
            "stash's environment lacks {name}"
        );
    }
    let compose_text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let secrets = env
        .iter()
        .filter(|(k, _)| k.contains("PASSWORD") || k.contains("SECRET"));
    for (k, v) in secrets {
        assert!(
            !compose_text.contains(v.as_str()),
            "{k}'s value is written in docker-compose.yml"
        );
        for f in walk(&root().join("examples/compose")) {
            let t = std::fs::read_to_string(&f).unwrap_or_default();
            assert!(
                !t.contains(v.as_str()),
                "{k}'s value is written in {}",
                f.display()
            );
        }
    }
    let published: Vec<String> = stash["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        published.iter().any(|p| p.contains("9090")),
        "metrics port: {published:?}"
    );
    // Bind mounts (`SOURCE:TARGET[:MODE]`, SOURCE made absolute by config) exist.
    let mut binds = 0;
    for (name, s) in services {
        for v in s["volumes"].as_array().into_iter().flatten() {
            let source = v.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with('/') {
                binds += 1;
                assert!(
                    Path::new(source).exists(),
                    "{name} mounts {source}, which is missing"
                );
            }
        }
    }
    assert!(binds >= 5, "{binds} bind mounts");

    // Without one of the credentials the stack does not start, and says which.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("docker-compose.yml"),
        tmp.path().join("docker-compose.yml"),
    )
    .unwrap();
    let partial: String = env
        .iter()
        .filter(|(k, _)| k != "REDIS_PASSWORD")
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(tmp.path().join(".env"), partial).unwrap();
    let out = compose_config(tmp.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set REDIS_PASSWORD in .env"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Dockerfile passes hadolint at the warning threshold (a Dockerfile with the usual
/// mistakes does not, so the linter is really judging).
#[test]
fn dockerfile_passes_hadolint() {
    let hadolint = |path: &Path| {
        Command::new(tool("hadolint"))
            .args(["--no-color", "--failure-threshold", "warning"])
            .arg(path)
            .output()
            .unwrap()
    };
    assert_ok_named("hadolint Dockerfile", &hadolint(&root().join("Dockerfile")));
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("Dockerfile");
    std::fs::write(
        &bad,
        "FROM debian\nRUN apt-get update && apt-get install curl\n",
    )
    .unwrap();
    let out = hadolint(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("DL3008"));
}

fn assert_ok_named(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed\n--- stdout:\n{}\n--- stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `examples/compose/<dir>` copied into `to`, with the stack's addresses replaced by this
/// machine's: each replacement must be used, so a changed example cannot slip past.
fn copy_rewritten(dir: &str, to: &Path, rewrites: &[(&str, String)]) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for f in walk(&root().join("examples/compose").join(dir)) {
        let mut text = std::fs::read_to_string(&f).unwrap();
        for (from, with) in rewrites {
            if text.contains(from) {
                used.insert(from.to_string());
                text = text.replace(from, with);
            }
        }
        std::fs::write(to.join(f.file_name().unwrap()), text).unwrap();
    }
    used
}

fn sql_file(cmd: &mut Command, file: &Path) {
    let out = cmd
        .stdin(Stdio::from(std::fs::File::open(file).unwrap()))
        .output()
        .unwrap();
    assert_ok_named(&file.display().to_string(), &out);
}

const DBS: [&str; 2] = ["storefront", "storefront_restored"];

/// examples/compose as the stack runs it, on this machine: the seed data loaded into each
/// server from the example's own seed files, `stash run --once` backs every database up into
/// its repository in an S3 bucket, restic lists and checks each repository, the RestoreSessions
/// of examples/compose/restore bring each database back into its second database, and each is
/// judged by its own tool (`pg_dump`, `CHECKSUM TABLE`, every key's `DUMP`, the documents).
/// Only addresses change (the stack's service names become 127.0.0.1 and moto, the bucket one
/// of this run), and credentials come from `.env` as in the stack, with the ones this
/// machine's servers do not use left empty.
#[test]
fn example_compose_backs_up_and_restores_every_database() {
    let seed = root().join("examples/compose/seed");
    let pg = Pg::shared();
    for db in DBS {
        pg.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
        mariadb("mysql", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    let (pg_src, pg_dst) = (PgDb(DBS[0].into()), PgDb(DBS[1].into()));
    sql_file(
        psql("postgres").args(["-v", "ON_ERROR_STOP=1"]),
        &seed.join("postgres.sql"),
    );
    sql_file(
        Command::new("mariadb").args(["-h", "127.0.0.1", "-u", "root"]),
        &seed.join("mariadb.sql"),
    );
    for db in [0, 1] {
        redis_cli(db, &["FLUSHDB"]);
    }
    sql_file(
        Command::new("redis-cli").args(["-h", "127.0.0.1", "-n", "0"]),
        &seed.join("redis.txt"),
    );
    let (rt, mongo) = mongo_client(&DBS);
    rt.block_on(async {
        let carts: Vec<Value> =
            serde_json::from_slice(&std::fs::read(seed.join("carts.json")).unwrap()).unwrap();
        let docs: Vec<bson::Document> = carts
            .iter()
            .map(|c| bson::to_document(c).unwrap())
            .collect();
        mongo
            .database(DBS[0])
            .collection("carts")
            .insert_many(docs)
            .await
            .unwrap();
    });

    let bucket = unique("compose").replace('_', "-");
    let (status, body) = s3("PUT", &format!("/{bucket}"), "");
    assert!(status.contains(" 200 "), "{status}: {body}");
    let rewrites = [
        ("postgres:5432", "127.0.0.1:5432".to_string()),
        ("mariadb:3306", "127.0.0.1:3306".to_string()),
        ("mongodb:27017", "127.0.0.1:27017".to_string()),
        ("redis:6379", "127.0.0.1:6379".to_string()),
        ("http://s3:9000", format!("http://{S3}")),
        ("bucket: stash,", format!("bucket: {bucket},")),
    ];
    let l = Local::new();
    std::fs::remove_file(l.manifests.join("repository.yaml")).unwrap();
    let used = copy_rewritten("manifests", &l.manifests, &rewrites);
    assert_eq!(used.len(), rewrites.len(), "unused rewrites: {used:?}");

    // The stack's credentials, but for the servers here: no passwords on MariaDB's root or
    // Redis, no users on the MongoDB-wire server (PostgreSQL trusts loopback).
    let mut env: BTreeMap<String, String> = dot_env().into_iter().collect();
    for k in [
        "MARIADB_ROOT_PASSWORD",
        "REDIS_PASSWORD",
        "MONGO_ROOT_USERNAME",
        "MONGO_ROOT_PASSWORD",
    ] {
        env.insert(k.into(), String::new());
    }
    let run_once = || {
        let out = l.stash(&["run", "--once"]).envs(&env).output().unwrap();
        assert_ok(&out);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for k in ["REPOSITORY_PASSWORD", "S3_SECRET_KEY", "POSTGRES_PASSWORD"] {
            assert!(!said.contains(&env[k]), "{k}'s value was printed");
        }
    };
    run_once();
    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 4, "{sessions:#?}");
    for s in &sessions {
        assert_eq!(text(s, "/status/phase"), "Succeeded", "{s:#}");
    }

    let restic_s3 = |prefix: &str, args: &[&str]| {
        let out = Command::new("restic")
            .args([
                "--no-cache",
                "-r",
                &format!("s3:http://{S3}/{bucket}/{prefix}"),
            ])
            .args(args)
            .env("RESTIC_PASSWORD", &env["REPOSITORY_PASSWORD"])
            .env("AWS_ACCESS_KEY_ID", &env["S3_ACCESS_KEY"])
            .env("AWS_SECRET_ACCESS_KEY", &env["S3_SECRET_KEY"])
            .output()
            .unwrap();
        assert_ok_named(&format!("restic {args:?} on {prefix}"), &out);
        out.stdout
    };
    for (prefix, path) in [
        ("postgres", "/dumpfile.sql"),
        ("mariadb", "/dumpfile.sql"),
        ("mongodb", "/dump"),
        ("redis", "/dumpfile.resp"),
    ] {
        let snaps: Vec<Value> =
            serde_json::from_slice(&restic_s3(prefix, &["snapshots", "--json"])).unwrap();
        assert_eq!(snaps.len(), 1, "{prefix}: {snaps:#?}");
        assert_eq!(snaps[0]["paths"], serde_json::json!([path]), "{prefix}");
        restic_s3(prefix, &["check", "--read-data"]);
    }

    let used = copy_rewritten("restore", &l.manifests, &rewrites);
    assert!(
        used.is_empty(),
        "the restores name the AppBindings only: {used:?}"
    );
    run_once();
    for r in [
        "postgres-restore",
        "mariadb-restore",
        "mongodb-restore",
        "redis-restore",
    ] {
        assert_eq!(l.phase("RestoreSession", r), "Succeeded", "{r}");
    }

    let src_dump = pg_src.dump();
    assert!(
        src_dump.contains("CREATE TABLE public.orders"),
        "{src_dump}"
    );
    assert_eq!(
        src_dump,
        pg_dst.dump(),
        "PostgreSQL storefront_restored differs"
    );
    for table in ["products", "stock_moves"] {
        let checksum = |db: &str| mariadb(db, &format!("CHECKSUM TABLE {table}"));
        let (a, b) = (checksum(DBS[0]), checksum(DBS[1]));
        assert_eq!(
            a.split_whitespace().last(),
            b.split_whitespace().last(),
            "MariaDB {table}"
        );
        assert_eq!(
            mariadb(DBS[0], &format!("SELECT COUNT(*) FROM {table}")),
            mariadb(DBS[1], &format!("SELECT COUNT(*) FROM {table}"))
        );
    }
    let keys = assert_redis_keys_restored(0, 1);
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(redis_cli(1, &["DBSIZE"]), redis_cli(0, &["DBSIZE"]));
    rt.block_on(async {
        let source = crate::mongo_docs(&mongo, DBS[0], "carts").await;
        let restored = crate::mongo_docs(&mongo, DBS[1], "carts").await;
        assert_eq!(source.len(), 300);
        assert_eq!(source, restored, "MongoDB carts differ");
        for db in DBS {
            mongo.database(db).drop().await.unwrap();
        }
    });
    for db in DBS {
        mariadb("mysql", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    for db in [0, 1] {
        redis_cli(db, &["FLUSHDB"]);
    }
}
