//! Throwaway PostgreSQL clusters (through `scripts/pg-cluster.sh`), stopped and removed on drop.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    pub dir: PathBuf,
    pub port: u16,
    /// Superuser password when the cluster uses password auth.
    pub password: Option<String>,
    /// TLS-only TCP (`PG_TLS_DIR` of pg-cluster.sh).
    pub tls: bool,
}

/// A server to run client tools against: the shared one on 5432 or a throwaway cluster.
#[derive(Clone, Debug)]
pub struct Pg {
    /// `127.0.0.1`, or the socket folder of a TLS cluster (whose TCP port wants TLS and a
    /// client certificate; the judge should not depend on the TLS path under test).
    pub host: String,
    pub port: u16,
    pub password: Option<String>,
}

impl Pg {
    /// The machine's shared PostgreSQL (trust auth).
    pub fn shared() -> Pg {
        Pg {
            host: "127.0.0.1".into(),
            port: 5432,
            password: None,
        }
    }

    fn cmd(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args([
            "-h",
            &self.host,
            "-U",
            "postgres",
            "-p",
            &self.port.to_string(),
        ]);
        c.env_remove("PGPASSWORD");
        if let Some(p) = &self.password {
            c.env("PGPASSWORD", p);
        }
        c
    }

    /// psql -At with ON_ERROR_STOP; panics with stderr on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .cmd("psql")
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// psql -f FILE (ON_ERROR_STOP).
    pub fn psql_file(&self, db: &str, file: &Path) {
        let out = self
            .cmd("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql -f {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_dump` (plain) of a database: the independent judge.
    pub fn pg_dump(&self, db: &str) -> String {
        self.stdout("pg_dump", &["-d", db])
    }

    /// `pg_dumpall` of the cluster.
    pub fn pg_dumpall(&self) -> String {
        self.stdout("pg_dumpall", &[])
    }

    fn stdout(&self, tool: &str, args: &[&str]) -> String {
        let out = self.cmd(tool).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        normalise(String::from_utf8(out.stdout).unwrap())
    }

    /// Spawn `psql -c sql` in the background (e.g. a session holding a lock).
    pub fn spawn_psql(&self, db: &str, sql: &str) -> std::process::Child {
        self.cmd("psql")
            .args(["-X", "-q", "-d", db, "-c", sql])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster.sh")
}

/// A free TCP port on loopback (bind to 0 and release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// initdb + start a new, empty cluster (superuser `postgres`, trust auth).
    pub fn start(name: &str) -> PgCluster {
        Self::start_with(name, None)
    }

    /// A cluster with scram-sha-256 password auth for `postgres` when `password` is given.
    pub fn start_with(name: &str, password: Option<&str>) -> PgCluster {
        Self::start_inner(name, password, None)
    }

    /// A cluster whose TCP port takes only TLS with a client certificate (`hostssl …
    /// clientcert=verify-full`), with `certs`' server certificate; plaintext TCP is rejected.
    pub fn start_tls(
        name: &str,
        password: Option<&str>,
        certs: &crate::tlscerts::TestCerts,
    ) -> PgCluster {
        Self::start_inner(name, password, Some(certs.dir()))
    }

    fn start_inner(name: &str, password: Option<&str>, tls_dir: Option<&Path>) -> PgCluster {
        let dir = std::env::temp_dir().join(format!("stash-it-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = free_port();
        let mut c = Command::new("bash");
        c.arg(script()).arg("start").arg(&dir).arg(port.to_string());
        if let Some(p) = password {
            c.env("PG_PASSWORD", p);
        }
        if let Some(t) = tls_dir {
            c.env("PG_TLS_DIR", t);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "pg-cluster.sh start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        PgCluster {
            dir,
            port,
            password: password.map(String::from),
            tls: tls_dir.is_some(),
        }
    }

    pub fn pg(&self) -> Pg {
        let host = if self.tls {
            self.dir.to_string_lossy().into_owned()
        } else {
            "127.0.0.1".into()
        };
        Pg {
            host,
            port: self.port,
            password: self.password.clone(),
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("initdb.log"));
    }
}

/// `\restrict` keys are random per run (PostgreSQL 15.14+): keep only the keyword.
fn normalise(s: String) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("\\restrict ") || l.starts_with("\\unrestrict ") {
                l.split(' ').next().unwrap()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
