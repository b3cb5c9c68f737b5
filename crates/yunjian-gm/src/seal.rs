//! SM4-GCM sealing (SM4 as in GB/T 32907, GCM as in RFC 8998) of secrets kept in the
//! store, such as the ledger's private signing key, under a key-encryption key that lives
//! outside the database (a 0600 file, later a cipher machine).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::RngCore;
use sm4::Sm4;

use crate::GmError;

type Sm4Gcm = AesGcm<Sm4, aes_gcm::aead::consts::U12>;

const PREFIX: &str = "sm4-gcm:v1:";

/// A 128-bit SM4 key-encryption key.
#[derive(Clone)]
pub struct SealingKey(zeroize::Zeroizing<[u8; 16]>);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

impl SealingKey {
    pub fn generate() -> SealingKey {
        let mut key = [0u8; 16];
        rand::rng().fill_bytes(&mut key);
        SealingKey(zeroize::Zeroizing::new(key))
    }

    /// From 32 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SealingKey, GmError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| GmError::BadKey("a sealing key is 32 hex digits".into()))?;
        let key: [u8; 16] = bytes
            .try_into()
            .map_err(|_| GmError::BadKey("a sealing key is 32 hex digits".into()))?;
        Ok(SealingKey(zeroize::Zeroizing::new(key)))
    }

    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(*self.0))
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new_from_slice(&self.0[..]).expect("SM4 takes a 16-byte key")
    }

    /// `sm4-gcm:v1:` ‖ base64(nonce ‖ ciphertext ‖ tag). `context` is bound as associated
    /// data, so a sealed value moved to another purpose does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = seal_with_nonce(&self.cipher(), &nonce, plaintext, context);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", BASE64.encode(out))
    }

    pub fn open(
        &self,
        sealed: &str,
        context: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, GmError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|rest| BASE64.decode(rest).ok())
            .filter(|bytes| bytes.len() >= 12 + 16)
            .ok_or_else(|| GmError::BadSealed("not an sm4-gcm:v1 value".into()))?;
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce)
            .map_err(|_| GmError::BadSealed("bad nonce".into()))?;
        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(zeroize::Zeroizing::new)
            .map_err(|_| {
                GmError::BadSealed(
                    "the sealed value does not open with this key (wrong key file, or altered)"
                        .into(),
                )
            })
    }
}

fn seal_with_nonce(cipher: &Sm4Gcm, nonce: &[u8; 12], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(*nonce);
    cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("GCM encryption of a bounded message does not fail")
}

/// SM4-GCM with a caller's nonce, for the RFC 8998 known-answer test only.
#[cfg(test)]
pub(crate) fn sm4_gcm_encrypt(
    key: &[u8; 16],
    nonce: &[u8; 12],
    plaintext: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    let cipher = Sm4Gcm::new_from_slice(key).expect("16-byte key");
    seal_with_nonce(&cipher, nonce, plaintext, aad)
}
