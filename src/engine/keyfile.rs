//! Key files (`keys/<id>`): the master key wrapped by a password through scrypt.
//!
//! Key files are the only unencrypted JSON in a repository. A repository may hold several;
//! opening tries each until one decrypts (restic's behaviour), so "wrong password" is the
//! answer only after every key file refused.
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
    pub created: DateTime<Local>,
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
            created: Local::now(),
            data: b64.encode(user_key.encrypt(&plain)),
            salt: b64.encode(salt),
        })
    }

    /// Unwrap the master key with `password`.
    pub fn open(&self, password: &str) -> Result<Key, KeyFileError> {
        if self.kdf != "scrypt" {
            return Err(KeyFileError::Kdf(self.kdf.clone()));
        }
        if !self.n.is_power_of_two() || self.n < 2 {
            return Err(KeyFileError::Params);
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode(&self.salt).map_err(|_| KeyFileError::Encoding)?;
        let data = b64.decode(&self.data).map_err(|_| KeyFileError::Encoding)?;
        let user_key = derive(
            password.as_bytes(),
            &salt,
            self.n.trailing_zeros() as u8,
            self.r,
            self.p,
        )?;
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
}
