//! restic's authenticated encryption: AES-256-CTR, then Poly1305-AES over the ciphertext.
//!
//! Layout of every encrypted object: `IV(16) || CIPHERTEXT || MAC(16)`. The IV doubles as the
//! Poly1305 nonce; the one-time Poly1305 key is `r || AES-128_k(nonce)`. The master key holds
//! the AES-256 key plus the two 16-byte MAC keys `k` and `r`. Errors never include key material.
use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use aes::{Aes128, Aes256};
use base64::Engine as _;
use poly1305::Poly1305;
use rand::RngCore;
use serde::{Deserialize, Serialize};

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Bytes that encryption adds: IV plus MAC.
pub const OVERHEAD: usize = 32;
pub const IV_LEN: usize = 16;
const MAC_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext too short ({0} bytes)")]
    TooShort(usize),
    #[error("MAC mismatch: the data is corrupt or the key is wrong")]
    Mac,
}

/// The repository master key: encryption key plus Poly1305-AES MAC keys.
#[derive(Clone)]
pub struct Key {
    enc: [u8; 32],
    mac_k: [u8; 16],
    mac_r: [u8; 16],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// A fresh random master key.
    pub fn random() -> Key {
        let mut rng = rand::thread_rng();
        let mut k = Key {
            enc: [0; 32],
            mac_k: [0; 16],
            mac_r: [0; 16],
        };
        rng.fill_bytes(&mut k.enc);
        rng.fill_bytes(&mut k.mac_k);
        rng.fill_bytes(&mut k.mac_r);
        k
    }

    /// Split 64 bytes from the KDF: encryption key, then MAC `k`, then MAC `r`.
    pub fn from_kdf_output(b: &[u8; 64]) -> Key {
        let mut k = Key {
            enc: [0; 32],
            mac_k: [0; 16],
            mac_r: [0; 16],
        };
        k.enc.copy_from_slice(&b[..32]);
        k.mac_k.copy_from_slice(&b[32..48]);
        k.mac_r.copy_from_slice(&b[48..64]);
        k
    }

    fn mac(&self, nonce: &[u8], ciphertext: &[u8]) -> [u8; 16] {
        let mut s = aes::Block::clone_from_slice(nonce);
        Aes128::new_from_slice(&self.mac_k)
            .expect("16-byte key")
            .encrypt_block(&mut s);
        let mut one_time = [0u8; 32];
        one_time[..16].copy_from_slice(&self.mac_r);
        one_time[16..].copy_from_slice(&s);
        // The poly1305 crate clamps r itself, as restic masks it.
        Poly1305::new(&one_time.into())
            .compute_unpadded(ciphertext)
            .into()
    }

    /// Encrypt `plain` under a fresh random IV.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + OVERHEAD);
        self.encrypt_into(plain, &mut out);
        out
    }

    /// Encrypt `plain` under a fresh random IV, appending `IV || CT || MAC` to `out`.
    pub fn encrypt_into(&self, plain: &[u8], out: &mut Vec<u8>) {
        out.reserve(plain.len() + OVERHEAD);
        let start = out.len();
        out.extend_from_slice(&[0u8; IV_LEN]);
        out.extend_from_slice(plain);
        self.seal_in_place(out, start);
    }

    /// Encrypt in place what `buf` holds after `start + IV_LEN` (the plaintext), writing a
    /// fresh IV into `buf[start..start + IV_LEN]` and appending the MAC: the caller puts the
    /// plaintext where the ciphertext goes and no copy is made.
    pub fn seal_in_place(&self, buf: &mut Vec<u8>, start: usize) {
        assert!(buf.len() >= start + IV_LEN, "room for the IV comes first");
        let mut iv = [0u8; IV_LEN];
        rand::thread_rng().fill_bytes(&mut iv);
        buf[start..start + IV_LEN].copy_from_slice(&iv);
        let ct = &mut buf[start + IV_LEN..];
        Aes256Ctr::new(&self.enc.into(), &iv.into()).apply_keystream(ct);
        let tag = self.mac(&iv, ct);
        buf.extend_from_slice(&tag);
    }

    /// Verify and decrypt `data` (`IV || CT || MAC`).
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut buf = data.to_vec();
        let n = self.decrypt_in_place(&mut buf)?.len();
        buf.truncate(IV_LEN + n);
        buf.drain(..IV_LEN);
        Ok(buf)
    }

    /// Verify and decrypt in place; returns the plaintext slice inside `buf`.
    pub fn decrypt_in_place<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8], CryptoError> {
        if buf.len() < OVERHEAD {
            return Err(CryptoError::TooShort(buf.len()));
        }
        let (iv, rest) = buf.split_at_mut(IV_LEN);
        let ct_len = rest.len() - MAC_LEN;
        let (ct, tag) = rest.split_at_mut(ct_len);
        let want = self.mac(iv, ct);
        if !constant_time_eq(&want, tag) {
            return Err(CryptoError::Mac);
        }
        let iv: [u8; 16] = (&*iv).try_into().expect("16 bytes");
        Aes256Ctr::new(&self.enc.into(), &iv.into()).apply_keystream(ct);
        Ok(ct)
    }

    pub(crate) fn to_json(&self) -> MasterKeyJson {
        let b64 = base64::engine::general_purpose::STANDARD;
        MasterKeyJson {
            mac: MacJson {
                k: b64.encode(self.mac_k),
                r: b64.encode(self.mac_r),
            },
            encrypt: b64.encode(self.enc),
        }
    }

    pub(crate) fn from_json(j: &MasterKeyJson) -> Option<Key> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut k = Key {
            enc: [0; 32],
            mac_k: [0; 16],
            mac_r: [0; 16],
        };
        k.enc = b64.decode(&j.encrypt).ok()?.try_into().ok()?;
        k.mac_k = b64.decode(&j.mac.k).ok()?.try_into().ok()?;
        k.mac_r = b64.decode(&j.mac.r).ok()?.try_into().ok()?;
        Some(k)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The master key as restic stores it, encrypted, inside a key file.
#[derive(Serialize, Deserialize)]
pub(crate) struct MasterKeyJson {
    pub mac: MacJson,
    pub encrypt: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct MacJson {
    pub k: String,
    pub r: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let k = Key::random();
        for len in [0usize, 1, 15, 16, 17, 1000] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = k.encrypt(&plain);
            assert_eq!(ct.len(), len + OVERHEAD);
            assert_eq!(k.decrypt(&ct).unwrap(), plain);
            let mut bad = ct.clone();
            bad[IV_LEN] ^= 1;
            assert_eq!(k.decrypt(&bad), Err(CryptoError::Mac));
        }
        assert_eq!(
            Key::random().decrypt(&k.encrypt(b"x")),
            Err(CryptoError::Mac)
        );
        assert_eq!(k.decrypt(&[0u8; 10]), Err(CryptoError::TooShort(10)));
    }

    #[test]
    fn encrypt_into_appends_after_what_the_buffer_holds() {
        let k = Key::random();
        let mut out = b"kept".to_vec();
        k.encrypt_into(b"first blob", &mut out);
        let first_end = out.len();
        k.encrypt_into(b"second", &mut out);
        assert_eq!(&out[..4], b"kept");
        assert_eq!(k.decrypt(&out[4..first_end]).unwrap(), b"first blob");
        assert_eq!(k.decrypt(&out[first_end..]).unwrap(), b"second");
        assert_ne!(
            out[4..4 + IV_LEN],
            out[first_end..first_end + IV_LEN],
            "a fresh IV per blob"
        );
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", Key::random()), "Key(<redacted>)");
    }

    /// Poly1305-AES test vector from Bernstein's paper (appendix B, second example).
    #[test]
    fn poly1305_aes_paper_vector() {
        let h = |s: &str| hex::decode(s).unwrap();
        let mut k = Key::random();
        k.mac_k
            .copy_from_slice(&h("ec074c835580741701425b623235add6"));
        k.mac_r
            .copy_from_slice(&h("851fc40c3467ac0be05cc20404f3f700"));
        let nonce = h("fb447350c4e868c52ac3275cf9d4327e");
        let msg = h("f3f6");
        assert_eq!(
            hex::encode(k.mac(&nonce, &msg)),
            "f4c633c3044fc145f84f335cb81953de"
        );
    }
}
