//! Key files (`keys/<id>`): the master key wrapped by a password through scrypt.
//!
//! Key files are the only unencrypted JSON in a repository. A repository may hold several;
//! opening tries each until one decrypts (restic's behaviour), so "wrong password" is the
//! answer only after every key file refused.
//!
//! A key file's scrypt cost is read from the file itself, before any password is checked, so
//! anyone who can write to the repository could make opening it take minutes and gigabytes.
//! Parameters are therefore bounded ([`MAX_SCRYPT_MEMORY`], [`MAX_SCRYPT_WORK`]) far above what
//! restic creates (it calibrates to at most 60 MiB and about half a second) and refused beyond.
use base64::Engine as _;
use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};

use super::crypto::{Key, MasterKeyJson};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file is not valid JSON")]
    Json(#[from] serde_json::Error),
    #[error("key file uses unsupported KDF {0:?}")]
    Kdf(String),
    #[error("key file has invalid scrypt parameters")]
    Params,
    #[error("key file's scrypt parameters N={n} r={r} p={p} ask for {mib} MiB of {what}, more than the {limit} MiB a key may cost")]
    TooCostly {
        what: &'static str,
        n: u64,
        r: u32,
        p: u32,
        mib: u128,
        limit: u64,
    },
    #[error("key file has an invalid salt or data field")]
    Encoding,
    #[error("wrong password or corrupt key file")]
    WrongPassword,
}

/// A key file as restic writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    pub kdf: String,
    #[serde(rename = "N")]
    pub n: u64,
    pub r: u32,
    pub p: u32,
    /// restic always writes it; rustic's key files go without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Local>>,
    pub data: String,
    pub salt: String,
}

/// Scrypt cost for new keys. restic calibrates; these are its usual results (N=2^15, r=8, p=1).
#[derive(Clone, Copy, Debug)]
pub struct KdfParams {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            log_n: 15,
            r: 8,
            p: 1,
        }
    }
}

/// Most memory a key file's scrypt may take (`128·N·r` bytes): 4× restic's calibration cap.
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
/// Most memory passes (`128·N·r·p` bytes) a key file's scrypt may take, a few seconds of CPU.
pub const MAX_SCRYPT_WORK: u64 = 4 << 30;

fn derive(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<Key, KeyFileError> {
    let params = scrypt::Params::new(log_n, r, p, 64).map_err(|_| KeyFileError::Params)?;
    let mut out = [0u8; 64];
    scrypt::scrypt(password, salt, &params, &mut out).map_err(|_| KeyFileError::Params)?;
    Ok(Key::from_kdf_output(&out))
}

impl KeyFile {
    /// Wrap `master` under `password`.
    pub fn create(
        master: &Key,
        password: &str,
        params: KdfParams,
    ) -> Result<KeyFile, KeyFileError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut salt = [0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
        let user_key = derive(password.as_bytes(), &salt, params.log_n, params.r, params.p)?;
        let plain = serde_json::to_vec(&master.to_json())?;
        Ok(KeyFile {
            hostname: super::sys::hostname(),
            username: super::sys::username(),
            kdf: "scrypt".into(),
            n: 1u64 << params.log_n,
            r: params.r,
            p: params.p,
            created: Some(Local::now()),
            data: b64.encode(user_key.encrypt(&plain)),
            salt: b64.encode(salt),
        })
    }

    /// The file's KDF parameters, checked: scrypt, N a power of two, r and p at least 1, and
    /// a cost within [`MAX_SCRYPT_MEMORY`] and [`MAX_SCRYPT_WORK`]. Cheap; no KDF runs.
    pub fn kdf_params(&self) -> Result<KdfParams, KeyFileError> {
        if self.kdf != "scrypt" {
            return Err(KeyFileError::Kdf(self.kdf.clone()));
        }
        if !self.n.is_power_of_two() || self.n < 2 || self.r == 0 || self.p == 0 {
            return Err(KeyFileError::Params);
        }
        let memory = 128 * u128::from(self.n) * u128::from(self.r);
        let work = memory.saturating_mul(u128::from(self.p));
        let too_costly = |what, bytes: u128, limit: u64| KeyFileError::TooCostly {
            what,
            n: self.n,
            r: self.r,
            p: self.p,
            mib: bytes >> 20,
            limit: limit >> 20,
        };
        if memory > u128::from(MAX_SCRYPT_MEMORY) {
            return Err(too_costly("memory", memory, MAX_SCRYPT_MEMORY));
        }
        if work > u128::from(MAX_SCRYPT_WORK) {
            return Err(too_costly(
                "memory passes (memory × p)",
                work,
                MAX_SCRYPT_WORK,
            ));
        }
        Ok(KdfParams {
            log_n: self.n.trailing_zeros() as u8,
            r: self.r,
            p: self.p,
        })
    }

    /// Unwrap the master key with `password`.
    pub fn open(&self, password: &str) -> Result<Key, KeyFileError> {
        let params = self.kdf_params()?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode(&self.salt).map_err(|_| KeyFileError::Encoding)?;
        let data = b64.decode(&self.data).map_err(|_| KeyFileError::Encoding)?;
        let user_key = derive(password.as_bytes(), &salt, params.log_n, params.r, params.p)?;
        let plain = user_key
            .decrypt(&data)
            .map_err(|_| KeyFileError::WrongPassword)?;
        let json: MasterKeyJson = serde_json::from_slice(&plain)?;
        Key::from_json(&json).ok_or(KeyFileError::Encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap() {
        let master = Key::random();
        let params = KdfParams {
            log_n: 10,
            r: 8,
            p: 1,
        };
        let kf = KeyFile::create(&master, "secret", params).unwrap();
        let json = serde_json::to_string(&kf).unwrap();
        assert!(json.contains("\"N\":1024"), "{json}");
        assert!(!json.contains("secret"));
        let back: KeyFile = serde_json::from_str(&json).unwrap();
        let k = back.open("secret").unwrap();
        let ct = master.encrypt(b"hello");
        assert_eq!(k.decrypt(&ct).unwrap(), b"hello");
        assert!(matches!(
            back.open("nope"),
            Err(KeyFileError::WrongPassword)
        ));
    }

    /// rustic writes key files with neither `created`, `hostname` nor `username`.
    #[test]
    fn a_key_file_without_created_host_or_user_opens() {
        let master = Key::random();
        let params = KdfParams {
            log_n: 10,
            r: 8,
            p: 1,
        };
        let mut json =
            serde_json::to_value(KeyFile::create(&master, "pw", params).unwrap()).unwrap();
        for field in ["created", "hostname", "username"] {
            json.as_object_mut().unwrap().remove(field).unwrap();
        }
        let kf: KeyFile = serde_json::from_value(json).unwrap();
        assert_eq!(kf.created, None);
        let k = kf.open("pw").unwrap();
        assert_eq!(k.decrypt(&master.encrypt(b"x")).unwrap(), b"x");
        assert!(!serde_json::to_string(&kf).unwrap().contains("created"));
    }

    /// A key file is read before any password is checked: hostile scrypt parameters must be
    /// refused at once, not run (N=2^60 would want 2^70 bytes).
    #[test]
    fn hostile_scrypt_parameters_are_refused_without_running_scrypt() {
        let master = Key::random();
        let params = KdfParams {
            log_n: 4,
            r: 1,
            p: 1,
        };
        let good = KeyFile::create(&master, "pw", params).unwrap();
        let with = |n: u64, r: u32, p: u32| KeyFile {
            n,
            r,
            p,
            ..good.clone()
        };
        let started = std::time::Instant::now();
        for (n, r, p) in [
            (1u64 << 60, 8, 1),
            (1 << 30, 1, 1),
            (1 << 21, 2, 1),
            (1 << 15, 8, 1 << 30),
            (1 << 15, u32::MAX, u32::MAX),
            (1 << 63, u32::MAX, u32::MAX),
        ] {
            let e = with(n, r, p).open("pw").unwrap_err();
            assert!(
                matches!(e, KeyFileError::TooCostly { .. }),
                "{n} {r} {p}: {e}"
            );
            assert!(e.to_string().contains("more than the"), "{e}");
        }
        for (n, r, p) in [
            (0, 8, 1),
            (1, 8, 1),
            (3, 8, 1),
            (1 << 10, 0, 1),
            (1 << 10, 8, 0),
        ] {
            assert!(
                matches!(with(n, r, p).open("pw"), Err(KeyFileError::Params)),
                "{n} {r} {p}"
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // restic's defaults and its largest calibrated costs still open.
        assert!(with(1 << 15, 8, 1).kdf_params().is_ok());
        assert!(with(1 << 16, 8, 16).kdf_params().is_ok());
        assert!(with(1 << 4, 1, 1).open("pw").is_ok());
    }
}
