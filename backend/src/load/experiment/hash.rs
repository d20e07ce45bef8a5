//! `measurement_hash`: proof that a notification about a measurement is genuine.
//!
//! The course's format: base64(nonce) + "." + base64(AES-256-GCM(JSON blob)), keyed by the
//! producer's 32-character `--secret-key`. A student's service copies the hash into the
//! notification it sends; whoever holds the key opens it and sees which measurement, of which
//! experiment and researcher, the notification is about and what kind it should be.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

/// The key the lab uses when none is given. It is printed in the README: the lab's hashes
/// prove nothing to anyone, they only have the course's shape.
pub const LAB_SECRET_KEY: &str = "streamlab-lab-secret-key-32bytes";

/// What a notification about a measurement would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationType {
    /// The round's mean temperature left the experiment's range.
    OutOfRange,
    /// The round's mean temperature is inside the range.
    Stabilized,
}

/// The encrypted blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashBlob {
    pub notification_type: NotificationType,
    pub timestamp: f64,
    pub experiment_id: String,
    pub measurement_id: String,
    pub researcher: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HashError {
    #[error("the secret key must be exactly 32 bytes (AES-256), got {0}")]
    KeyLength(usize),
    #[error("a measurement hash is base64(nonce).base64(ciphertext)")]
    Format,
    #[error("the hash does not open with this key (wrong key or altered hash)")]
    Forged,
}

pub struct SecretKey(LessSafeKey);

impl SecretKey {
    pub fn new(key: &str) -> Result<Self, HashError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_bytes()).map_err(|_| HashError::KeyLength(key.len()))?;
        Ok(SecretKey(LessSafeKey::new(unbound)))
    }

    /// Seals `blob` under a fresh `nonce` (never reuse one with the same key).
    pub fn seal(&self, blob: &HashBlob, nonce: [u8; NONCE_LEN]) -> String {
        let mut data = serde_json::to_vec(blob).expect("a blob serialises");
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .expect("AES-GCM seals any message shorter than 64 GiB");
        format!("{}.{}", STANDARD.encode(nonce), STANDARD.encode(data))
    }

    pub fn open(&self, hash: &str) -> Result<HashBlob, HashError> {
        let (nonce, data) = hash.split_once('.').ok_or(HashError::Format)?;
        let nonce = STANDARD.decode(nonce).map_err(|_| HashError::Format)?;
        let nonce = Nonce::try_assume_unique_for_key(&nonce).map_err(|_| HashError::Format)?;
        let mut data = STANDARD.decode(data).map_err(|_| HashError::Format)?;
        let plain = self.0.open_in_place(nonce, Aad::empty(), &mut data).map_err(|_| HashError::Forged)?;
        serde_json::from_slice(plain).map_err(|_| HashError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> HashBlob {
        HashBlob {
            notification_type: NotificationType::OutOfRange,
            timestamp: 1_700_000_000.25,
            experiment_id: "e".into(),
            measurement_id: "m".into(),
            researcher: "d.landau@uu.nl".into(),
        }
    }

    #[test]
    fn a_hash_opens_with_its_key_only() {
        let key = SecretKey::new(LAB_SECRET_KEY).unwrap();
        let hash = key.seal(&blob(), [7; 12]);
        assert_eq!(STANDARD.decode(hash.split_once('.').unwrap().0).unwrap(), [7; 12]);
        assert_eq!(key.open(&hash), Ok(blob()));
        let other = SecretKey::new("another-key-of-exactly-32-bytes!").unwrap();
        assert_eq!(other.open(&hash), Err(HashError::Forged));
        let (nonce, data) = hash.split_once('.').unwrap();
        let mut bytes = STANDARD.decode(data).unwrap();
        bytes[3] ^= 1;
        assert_eq!(key.open(&format!("{nonce}.{}", STANDARD.encode(bytes))), Err(HashError::Forged));
        assert_eq!(key.open("no-dot"), Err(HashError::Format));
    }

    #[test]
    fn the_key_must_be_32_bytes() {
        assert_eq!(SecretKey::new("short").err(), Some(HashError::KeyLength(5)));
    }
}
