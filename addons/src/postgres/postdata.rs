//! Post-data in parallel: indexes and table constraints built by several sessions at once.
//!
//! After the data is loaded, building indexes is most of what is left of a restore, and each
//! index is one long, single-core job on the server. `pg_dump --section=post-data` writes its
//! objects one TOC entry at a time, each under a `-- Name: …; Type: …; Schema: …` header, in
//! dependency order. Indexes (`INDEX`) and primary-key/unique/exclusion constraints
//! (`CONSTRAINT`) depend only on their table, which exists and is loaded by now; so those run
//! first, spread over `jobs` sessions, and everything else (index attachments, foreign keys,
//! triggers, rules, policies, comments…) then runs through one `psql` in the dump's order, as
//! before. Statements on the same table simply wait for each other's locks; each takes one
//! table lock, so they cannot deadlock.
use std::collections::VecDeque;
use std::sync::Mutex;

use crate::error::{AddonError, Result};

/// Post-data SQL split for a parallel restore.
#[derive(Debug, Default, PartialEq)]
pub struct PostData {
    /// The `SET` lines before the first entry, without psql meta-commands: every parallel
    /// session runs them first.
    pub session_setup: String,
    /// Entries that only need their table: run in any order, in parallel.
    pub parallel: Vec<Entry>,
    /// Everything else, with the original preamble (meta-commands included), for `psql`.
    pub serial: String,
}

#[derive(Debug, PartialEq)]
pub struct Entry {
    /// `INDEX idx_name` or `CONSTRAINT t_pkey`, for error messages.
    pub what: String,
    pub sql: String,
}

/// Split pg_dump's post-data SQL.
pub fn split(sql: &str) -> PostData {
    let mut preamble = String::new();
    let mut entries: Vec<(Option<(String, String)>, String)> = Vec::new();
    let lines: Vec<&str> = sql.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(h) = header(line) {
            // The entry starts at the `--` line just above its header.
            let mut text = String::new();
            if i > 0 && lines[i - 1].trim_end() == "--" {
                let cur = entries
                    .last_mut()
                    .map(|e| &mut e.1)
                    .unwrap_or(&mut preamble);
                if cur.ends_with("--\n") {
                    cur.truncate(cur.len() - 3);
                    text.push_str("--\n");
                }
            }
            text.push_str(line);
            entries.push((Some(h), text));
        } else {
            match entries.last_mut() {
                Some(e) => e.1.push_str(line),
                None => preamble.push_str(line),
            }
        }
    }
    let mut out = PostData {
        session_setup: preamble
            .split_inclusive('\n')
            .filter(|l| !l.starts_with('\\'))
            .collect(),
        serial: preamble,
        ..Default::default()
    };
    for (h, text) in entries {
        match h {
            Some((name, kind)) if is_parallel(&kind, &text) => {
                // psql meta-commands after the entry (pg_dump's closing `\unrestrict`) are not
                // SQL: they stay with psql, in their place.
                let (meta, sql): (Vec<&str>, Vec<&str>) = text
                    .split_inclusive('\n')
                    .partition(|l| l.starts_with('\\'));
                out.parallel.push(Entry {
                    what: format!("{kind} {name}"),
                    sql: sql.concat(),
                });
                out.serial.push_str(&meta.concat());
            }
            _ => out.serial.push_str(&text),
        }
    }
    out
}

/// `-- Name: x; Type: INDEX; Schema: public; Owner: postgres` → (`x`, `INDEX`).
fn header(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("-- Name: ")?;
    // Names may hold `; `, types never do: take the type just before the last `; Schema: `.
    let schema_at = rest.rfind("; Schema: ")?;
    let before = &rest[..schema_at];
    let type_at = before.rfind("; Type: ")?;
    Some((
        before[..type_at].to_string(),
        before[type_at + "; Type: ".len()..].to_string(),
    ))
}

/// Only plain index builds and table constraints that pg_dump writes as such.
fn is_parallel(kind: &str, text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or("");
    match kind {
        "INDEX" => first.starts_with("CREATE INDEX ") || first.starts_with("CREATE UNIQUE INDEX "),
        "CONSTRAINT" => first.starts_with("ALTER TABLE ") && text.contains(" ADD CONSTRAINT "),
        _ => false,
    }
}

/// Run the parallel entries over `jobs` sessions; the first failure stops the others from
/// starting new entries and is returned, naming the entry.
pub async fn run_parallel(pg: &super::Postgres, post: &PostData, jobs: usize) -> Result<()> {
    if post.parallel.is_empty() {
        return Ok(());
    }
    let queue: Mutex<VecDeque<&Entry>> = Mutex::new(post.parallel.iter().collect());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let worker = || async {
        let c = super::probe::connect(pg, None).await?;
        c.batch_execute(&post.session_setup)
            .await
            .map_err(|e| AddonError::db("preparing a post-data session", e))?;
        loop {
            if failed.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(());
            }
            let Some(entry) = queue.lock().unwrap().pop_front() else {
                return Ok(());
            };
            if let Err(e) = c.batch_execute(&entry.sql).await {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(AddonError::db(format!("restoring {}", entry.what), e));
            }
        }
    };
    let n = jobs.clamp(1, post.parallel.len());
    futures::future::try_join_all((0..n).map(|_| worker())).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\\restrict abc123
--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (id);


--
-- Name: items_name_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX items_name_idx ON public.items USING btree (name);


--
-- Name: odd; name; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.p_idx ATTACH PARTITION public.c_idx;


--
-- Name: orders orders_item_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_item_fkey FOREIGN KEY (item) REFERENCES public.items(id);


--
-- Name: orders_when_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX orders_when_idx ON public.orders USING btree (placed);


--
-- PostgreSQL database dump complete
--

\\unrestrict abc123
";

    #[test]
    fn indexes_and_table_constraints_go_parallel_the_rest_stays_in_order() {
        let p = split(DUMP);
        let whats: Vec<&str> = p.parallel.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "CONSTRAINT items items_pkey",
                "INDEX items_name_idx",
                "INDEX orders_when_idx"
            ]
        );
        assert!(
            p.parallel.iter().all(|e| !e.sql.contains('\\')),
            "meta-commands are psql's"
        );
        assert!(p.parallel[0]
            .sql
            .contains("ADD CONSTRAINT items_pkey PRIMARY KEY (id);"));
        assert!(p.parallel[1].sql.starts_with("--\n-- Name: items_name_idx"));
        assert!(!p.session_setup.contains("\\restrict"));
        assert!(p.session_setup.contains("SET statement_timeout = 0;"));
        // psql keeps the meta-commands, the preamble, and the other entries in their order.
        assert!(p.serial.starts_with("\\restrict abc123\n"));
        let attach = p.serial.find("ATTACH PARTITION").unwrap();
        let fk = p.serial.find("FOREIGN KEY").unwrap();
        assert!(attach < fk);
        assert!(p.serial.trim_end().ends_with("\\unrestrict abc123"));
        assert!(!p.serial.contains("CREATE INDEX"));
        // Nothing is lost or duplicated.
        let total: usize = p.parallel.iter().map(|e| e.sql.len()).sum::<usize>() + p.serial.len();
        assert_eq!(total, DUMP.len());
    }

    #[test]
    fn names_with_separators_and_unknown_shapes_stay_serial() {
        assert_eq!(
            header("-- Name: a; Type: b; Type: INDEX; Schema: s; Owner: o\n"),
            Some(("a; Type: b".into(), "INDEX".into()))
        );
        let odd = "--\n-- Name: x; Type: INDEX; Schema: s; Owner: o\n--\n\nALTER INDEX s.x SET (fillfactor=50);\n";
        let p = split(odd);
        assert!(p.parallel.is_empty());
        assert_eq!(p.serial, odd);
    }
}
