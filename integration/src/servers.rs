//! Throwaway Redis and MariaDB servers (through `scripts/redis-server.sh` and
//! `scripts/mariadb-server.sh`), and a TLS front for servers that speak no TLS; all stopped
//! and removed on drop. The machine's own servers on the default ports are never touched.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pgcluster::free_port;
use crate::tlscerts::TestCerts;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn server_dir(kind: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stash-it-{kind}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// redis-server with a plaintext port (for the judge) and, with TLS, a TLS port.
pub struct RedisServer {
    dir: PathBuf,
    pub port: u16,
    pub tls_port: Option<u16>,
}

impl RedisServer {
    /// TLS on `tls_port` with `certs`' server certificate; `auth_clients` is redis'
    /// `--tls-auth-clients` (`yes`: a client certificate signed by the CA is required).
    pub fn start_tls(name: &str, certs: &TestCerts, auth_clients: &str) -> RedisServer {
        let dir = server_dir("redis", name);
        let (port, tls_port) = (free_port(), free_port());
        let mut c = Command::new("bash");
        c.arg(script("redis-server.sh"))
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            .arg(tls_port.to_string());
        c.env("TLS_DIR", certs.dir())
            .env("TLS_AUTH_CLIENTS", auth_clients);
        run(c, "redis-server.sh start");
        RedisServer {
            dir,
            port,
            tls_port: Some(tls_port),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("redis-server.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// mariadbd with its own data folder; TCP clients log in as `user`, the judge as root over
/// the socket.
pub struct MariaDbServer {
    dir: PathBuf,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl MariaDbServer {
    /// With `certs`: TLS, `require_secure_transport=ON`, and `user` needs a client certificate.
    pub fn start(name: &str, certs: Option<&TestCerts>) -> MariaDbServer {
        let dir = server_dir("mariadb", name);
        let port = free_port();
        let (user, password) = ("stash".to_string(), "stash-pw \"q'".to_string());
        let mut c = Command::new("bash");
        c.arg(script("mariadb-server.sh"))
            .arg("start")
            .arg(&dir)
            .arg(port.to_string());
        c.env("MARIADB_USER", &user)
            .env("MARIADB_PASSWORD", &password);
        if let Some(t) = certs {
            c.env("TLS_DIR", t.dir());
        }
        run(c, "mariadb-server.sh start");
        MariaDbServer {
            dir,
            port,
            user,
            password,
        }
    }

    /// `mariadb -e` as root over the socket; panics on failure.
    pub fn sql(&self, db: &str, q: &str) -> String {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.join("mysqld.sock").display()
            ))
            .args([
                "-u",
                "root",
                "--batch",
                "--skip-column-names",
                "--default-character-set=utf8mb4",
            ])
            .arg(format!("--database={db}"))
            .arg(format!("--execute={q}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb {q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("mariadb-server.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS-terminating front (socat) for a server that speaks no TLS itself: nx-27017, the
/// MongoDB-wire server of the tests. It listens on `port` with the test CA's server
/// certificate, requires a client certificate signed by that CA, and forwards the decrypted
/// bytes to `127.0.0.1:upstream`. The client's TLS is as real as with a TLS-speaking server;
/// only the server's own TLS settings are not exercised.
pub struct TlsFront {
    child: std::process::Child,
    pub port: u16,
}

impl TlsFront {
    pub fn start(certs: &TestCerts, upstream: u16) -> TlsFront {
        let port = free_port();
        let d = certs.dir();
        let listen = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},cafile={},verify=1",
            d.join("server.crt").display(),
            d.join("server.key").display(),
            d.join("ca.crt").display()
        );
        // socat sets no session id context, and OpenSSL then refuses a resumed session when
        // client certificates are verified; rustls clients (the MongoDB driver's) resume. No
        // tickets, no resumption: every connection makes a full handshake.
        let conf = d.join("socat-openssl.cnf");
        std::fs::write(
            &conf,
            "openssl_conf = stash\n[stash]\nssl_conf = stash_ssl\n[stash_ssl]\nsystem_default = stash_tls\n[stash_tls]\nOptions = -SessionTicket\n",
        )
        .unwrap();
        let child = Command::new("socat")
            .env("OPENSSL_CONF", &conf)
            .arg(listen)
            .arg(format!("TCP:127.0.0.1:{upstream}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("socat (installed by integration/scripts/install-tools.sh)");
        let front = TlsFront { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return front;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("socat did not listen on {port}");
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
