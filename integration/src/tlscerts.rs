//! Throwaway TLS material (`scripts/tls-certs.sh`): a CA, a server certificate for 127.0.0.1
//! and localhost, a client certificate (CN `postgres`), and an unrelated CA. One set per test,
//! removed on drop.
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

use crate::appbinding::Secrets;

pub struct TestCerts {
    dir: tempfile::TempDir,
}

impl TestCerts {
    pub fn generate() -> TestCerts {
        Self::generate_with_san("IP:127.0.0.1,DNS:localhost")
    }

    /// A set whose server certificate names only `san` (openssl's subjectAltName syntax).
    pub fn generate_with_san(san: &str) -> TestCerts {
        let dir = tempfile::Builder::new()
            .prefix("stash-it-tls-")
            .tempdir()
            .unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tls-certs.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(dir.path())
            .env("SERVER_SAN", san)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tls-certs.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestCerts { dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn pem(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap()
    }

    /// `file` as an AppBinding's `caBundle` holds it: base64 of the PEM text.
    pub fn base64(&self, file: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.pem(file))
    }

    /// A `kubernetes.io/tls` Secret with the client certificate, as `spec.tlsSecret` names it.
    pub fn client_secret(&self, name: &str) -> Secrets {
        let data = [
            ("tls.crt", self.pem("client.crt")),
            ("tls.key", self.pem("client.key")),
            ("ca.crt", self.pem("ca.crt")),
        ];
        Secrets::from([(
            name.to_string(),
            data.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        )])
    }
}
