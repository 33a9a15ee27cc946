//! Stash-mode restore: the SQL stream into `psql`, through [`GlobalsFilter`].
use crate::addon::{Ctx, Report, Source};
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};
use crate::process::StreamFilter;

use super::Postgres;

pub(super) async fn restore(pg: &Postgres, _ctx: &Ctx, source: Source<'_>) -> Result<Report> {
    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let mut t = pg.tool("psql", &secrets)?;
    t.cmd.arg("--no-psqlrc").arg("--quiet");
    if pg.opts.on_error_stop {
        t.cmd.args(["--set", "ON_ERROR_STOP=1"]);
    }
    let names_db = pg
        .opts
        .args
        .iter()
        .any(|a| a.starts_with("--dbname") || a == "-d");
    if let (Some(db), false) = (&pg.conn.database, names_db) {
        t.cmd.arg(format!("--dbname={db}"));
    }
    t.cmd.args(&pg.opts.args);
    let n = t
        .stdin_from(source, Some(Box::new(GlobalsFilter::new())))
        .await?;
    let mut r = Report::default();
    r.count("bytes", n);
    Ok(r)
}

/// The line Stash's restore deletes (`sed '/…PASSWORD/d'`): it would reset the target's
/// `postgres` password to the source's.
const POSTGRES_PASSWORD_LINE: &[u8] = b"ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD";
const CLUSTER_DUMP_MARK: &[u8] = b"PostgreSQL database cluster dump";
const SNIFF: usize = 512;
const MAX_LINE: usize = 1 << 20;

#[derive(Debug, PartialEq)]
enum State {
    /// Reading the first bytes to learn whether this is pg_dumpall output.
    Sniff,
    /// In pg_dumpall's globals section (roles, tablespaces): line by line.
    Globals,
    /// Everything else goes through untouched.
    Pass,
}

/// Rewrites the globals section of `pg_dumpall` output so it loads into a live cluster:
/// - drops `ALTER ROLE postgres … PASSWORD …` (as Stash does, but only at a line start and
///   only in the globals section, so table data that happens to contain the text survives);
/// - turns `CREATE ROLE name;` into a block that tolerates an existing role, because the
///   target always has at least the superuser already (with `ON_ERROR_STOP` this would
///   otherwise abort every pg_dumpall restore).
///
/// Everything from the first `\connect` on, and all of a `pg_dump` stream, passes unchanged.
/// Memory: one line of the globals section (≤ 1 MiB, else the filter steps aside).
#[derive(Debug)]
pub struct GlobalsFilter {
    state: State,
    held: Vec<u8>,
}

impl Default for GlobalsFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl GlobalsFilter {
    pub fn new() -> GlobalsFilter {
        GlobalsFilter {
            state: State::Sniff,
            held: Vec::new(),
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        if line.starts_with(b"\\connect ") {
            self.state = State::Pass;
            out.extend_from_slice(line);
        } else if line.starts_with(POSTGRES_PASSWORD_LINE) {
            // dropped
        } else if let Some(role) = create_role(line) {
            out.extend_from_slice(
                format!("DO $stash$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object THEN NULL; END $stash$;\n")
                    .as_bytes(),
            );
        } else {
            out.extend_from_slice(line);
        }
    }

    fn globals(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        while self.state == State::Globals {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let mut line = std::mem::take(&mut self.held);
                    line.extend_from_slice(&chunk[..=i]);
                    chunk = &chunk[i + 1..];
                    self.line(&line, out);
                }
                None => {
                    self.held.extend_from_slice(chunk);
                    if self.held.len() > MAX_LINE {
                        out.append(&mut self.held);
                        self.state = State::Pass;
                    }
                    return;
                }
            }
        }
        out.extend_from_slice(chunk);
    }
}

/// `CREATE ROLE <ident>;` exactly as pg_dumpall writes it → `<ident>`.
fn create_role(line: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(line).ok()?;
    let rest = s
        .strip_prefix("CREATE ROLE ")?
        .trim_end_matches('\n')
        .strip_suffix(';')?;
    let plain = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let quoted = rest.len() >= 2
        && rest.starts_with('"')
        && rest.ends_with('"')
        && !rest[1..rest.len() - 1].replace("\"\"", "").contains('"');
    (plain || quoted).then_some(rest)
}

impl StreamFilter for GlobalsFilter {
    fn filter(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        match self.state {
            State::Pass => out.extend_from_slice(chunk),
            State::Globals => self.globals(chunk, out),
            State::Sniff => {
                self.held.extend_from_slice(chunk);
                if self.held.len() < SNIFF {
                    return;
                }
                let held = std::mem::take(&mut self.held);
                self.decide(&held, out);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state == State::Sniff {
            let held = std::mem::take(&mut self.held);
            self.decide(&held, out);
        }
        let rest = std::mem::take(&mut self.held);
        if self.state == State::Globals && !rest.is_empty() {
            self.line(&rest, out);
        } else {
            out.extend_from_slice(&rest);
        }
    }
}

impl GlobalsFilter {
    fn decide(&mut self, held: &[u8], out: &mut Vec<u8>) {
        let head = &held[..held.len().min(SNIFF)];
        if head
            .windows(CLUSTER_DUMP_MARK.len())
            .any(|w| w == CLUSTER_DUMP_MARK)
        {
            self.state = State::Globals;
            self.globals(held, out);
        } else {
            self.state = State::Pass;
            out.extend_from_slice(held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut f = GlobalsFilter::new();
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            f.filter(c, &mut out);
        }
        f.finish(&mut out);
        out
    }

    const DUMPALL: &str = "--\n-- PostgreSQL database cluster dump\n--\n\nCREATE ROLE postgres;\nALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$x';\nCREATE ROLE \"App User\";\nALTER ROLE \"App User\" WITH LOGIN;\n\\connect template1\nCOPY t (a) FROM stdin;\nALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD in data\nCREATE ROLE x;\n\\.\n";

    #[test]
    fn rewrites_only_the_globals_of_a_cluster_dump() {
        for chunk in [1, 3, 7, 64, 4096] {
            let out = String::from_utf8(run(DUMPALL.as_bytes(), chunk)).unwrap();
            assert!(!out.contains("PASSWORD 'SCRAM"), "chunk {chunk}: {out}");
            assert!(out.contains("DO $stash$ BEGIN CREATE ROLE postgres; EXCEPTION"));
            assert!(out.contains("DO $stash$ BEGIN CREATE ROLE \"App User\"; EXCEPTION"));
            assert!(out.contains("ALTER ROLE \"App User\" WITH LOGIN;\n\\connect template1\n"));
            // After \connect: untouched, even lines that look like globals.
            assert!(
                out.contains("REPLICATION BYPASSRLS PASSWORD in data\nCREATE ROLE x;\n\\.\n"),
                "chunk {chunk}: {out}"
            );
        }
    }

    #[test]
    fn passes_pg_dump_output_unchanged() {
        let s = "--\n-- PostgreSQL database dump\n--\nCREATE ROLE x;\nALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'x';\n".repeat(20);
        for chunk in [1, 5, 100, 100_000] {
            assert_eq!(run(s.as_bytes(), chunk), s.as_bytes());
        }
        assert_eq!(run(b"short", 2), b"short");
    }
}
