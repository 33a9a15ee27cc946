//! Readiness and version through a native connection (what `pg_isready` would say, plus the
//! difference between "not up yet" and "wrong password").
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::addon::ProbeInfo;
use crate::error::{AddonError, Result};

use super::{Postgres, DEFAULT_PORT};

/// Connect to `dbname` (default: the connection's database, else `postgres`). The connection
/// task runs in the background; its failure shows up as errors on the client.
pub async fn connect(pg: &Postgres, dbname: Option<&str>) -> Result<Client> {
    let mut cfg = Config::new();
    let (host, hostaddr) = pg.endpoint()?;
    if let Some(ip) = hostaddr {
        cfg.hostaddr(ip);
    }
    cfg.host(&host)
        .port(pg.conn.port_or(DEFAULT_PORT))
        .user(pg.user())
        .dbname(dbname.or(pg.conn.database.as_deref()).unwrap_or("postgres"))
        .application_name("stash")
        .connect_timeout(std::time::Duration::from_secs(10));
    if let Some(pw) = &pg.conn.password {
        cfg.password(pw);
    }
    let mode = pg.ssl_mode();
    let use_tls = !matches!(mode.as_deref(), None | Some("disable"));
    let res = if use_tls {
        let mut tls = pg.conn.tls.clone().unwrap_or_default();
        // libpq: require/prefer/allow encrypt without verifying the server; verify-ca checks
        // the chain but not the name.
        match mode.as_deref() {
            Some("require" | "prefer" | "allow") => tls.insecure_skip_verify = true,
            Some("verify-ca") => tls.skip_hostname_check = true,
            _ => {}
        }
        cfg.ssl_mode(
            if mode.as_deref() == Some("prefer") || mode.as_deref() == Some("allow") {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            },
        );
        let rc = crate::tls::client_config(&tls)?;
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new(rc);
        cfg.connect(connector).await.map(|(c, conn)| {
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            c
        })
    } else {
        cfg.connect(NoTls).await.map(|(c, conn)| {
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            c
        })
    };
    res.map_err(|e| classify(pg, e))
}

fn classify(pg: &Postgres, e: tokio_postgres::Error) -> AddonError {
    let target = pg.conn.target(DEFAULT_PORT);
    if let Some(r) = crate::tls::rustls_cause(&e) {
        return crate::tls::tls_failed("postgres", target, r);
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return AddonError::Auth {
                addon: "postgres",
                target,
                user: pg.user().to_string(),
                detail: db.message().to_string(),
            };
        }
        if *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS {
            return AddonError::Connect {
                addon: "postgres",
                target,
                source: Box::new(e),
            };
        }
        return AddonError::db(format!("connecting to postgres at {target}"), e);
    }
    AddonError::Connect {
        addon: "postgres",
        target,
        source: Box::new(e),
    }
}

pub(super) async fn probe(pg: &Postgres) -> Result<ProbeInfo> {
    let c = connect(pg, None).await?;
    let row = c
        .query_one("SHOW server_version", &[])
        .await
        .map_err(|e| AddonError::Connect {
            addon: "postgres",
            target: pg.conn.target(DEFAULT_PORT),
            source: Box::new(e),
        })?;
    Ok(ProbeInfo {
        server_version: row.get(0),
    })
}
