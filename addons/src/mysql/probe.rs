//! Readiness: `SELECT VERSION()` through the client, like Stash's `mysql -e "SELECT 1;"`.
//! The client's error numbers tell "not up yet" (2002/2003/2006/2013) from "refused" (1045)
//! and from a failed TLS handshake (2026).
use crate::addon::ProbeInfo;
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};

use super::{Mysql, DEFAULT_PORT};

pub(super) async fn probe(m: &Mysql) -> Result<ProbeInfo> {
    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let mut t = m.tool(m.opts.flavor.client_tool(), &secrets)?;
    t.cmd.args([
        "--connect-timeout=10",
        "--batch",
        "--skip-column-names",
        "--execute=SELECT VERSION()",
    ]);
    let target = m.conn.target(DEFAULT_PORT);
    match t.output().await {
        Ok(out) => Ok(ProbeInfo {
            server_version: out.trim().to_string(),
        }),
        Err(AddonError::ToolFailed {
            tool,
            status,
            stderr,
        }) => {
            if stderr.contains("ERROR 1045") || stderr.contains("ERROR 1698") {
                return Err(AddonError::Auth {
                    addon: m.kind(),
                    target,
                    user: m.conn.user.clone().unwrap_or_default(),
                    detail: stderr,
                });
            }
            // 2026: the client's TLS handshake failed (certificate, CA, protocol).
            if stderr.contains("ERROR 2026") {
                let detail = stderr.trim().to_string();
                return Err(AddonError::Tls {
                    addon: m.kind(),
                    target,
                    detail,
                    hint: crate::tls::TLS_HINT.to_string(),
                });
            }
            let e = AddonError::ToolFailed {
                tool,
                status,
                stderr: stderr.clone(),
            };
            if [
                "ERROR 2002",
                "ERROR 2003",
                "ERROR 2005",
                "ERROR 2006",
                "ERROR 2013",
                "ERROR 1040",
            ]
            .iter()
            .any(|c| stderr.contains(c))
            {
                return Err(AddonError::Connect {
                    addon: m.kind(),
                    target,
                    source: Box::new(e),
                });
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}
