//! SM2 signatures (GB/T 32918.2) for signed notes (C2SP signed-note), behind a provider
//! interface so a cipher machine or PKCS#11 token can hold the private key later.
//!
//! The signed-note spec has no SM2 type, so the key uses type byte `0xff` followed by the
//! identifier [`SM2_NOTE_TYPE`] (the spec's advice for unassigned types). The SM2
//! distinguishing ID enters the signature through ZA, so a signature made under one ID
//! fails under another: the ID is therefore part of the verifier key's encoding, and a
//! verifier cannot be misconfigured with the right point but the wrong ID.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::Generate;
use sm2::SecretKey;

use crate::GmError;

/// The identifier after the `0xff` type byte in SM2 verifier keys.
pub const SM2_NOTE_TYPE: &[u8] = b"yunjian/sm2-sm3-distid/v1";

/// The default SM2 distinguishing ID (GM/T 0009-2012).
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// A public SM2 key for verifying signed notes, with its name and distinguishing ID.
///
/// Text form (the C2SP verifier-key form): `NAME+KEYID+BASE64`, where KEYID is eight hex
/// digits and BASE64 encodes `0xff ‖ SM2_NOTE_TYPE ‖ len(distid) as u16 BE ‖ distid ‖
/// 65-byte uncompressed SEC1 point`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifierKey {
    name: String,
    distid: String,
    /// The uncompressed SEC1 point.
    point: Vec<u8>,
}

impl NoteVerifierKey {
    pub fn new(name: &str, distid: &str, point: &[u8]) -> Result<NoteVerifierKey, GmError> {
        check_key_name(name)?;
        if distid.is_empty() || distid.len() > 1024 {
            return Err(GmError::BadKey(
                "the SM2 distinguishing ID must be 1-1024 bytes".into(),
            ));
        }
        VerifyingKey::from_sec1_bytes(distid, point)
            .map_err(|_| GmError::BadKey("not a point on the SM2 curve".into()))?;
        Ok(NoteVerifierKey {
            name: name.to_owned(),
            distid: distid.to_owned(),
            point: point.to_vec(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn distid(&self) -> &str {
        &self.distid
    }

    /// The public point, uncompressed SEC1 (65 bytes).
    pub fn point(&self) -> &[u8] {
        &self.point
    }

    /// The type byte, identifier and key, as hashed into the key ID.
    fn encoded(&self) -> Vec<u8> {
        let mut out = vec![0xff];
        out.extend_from_slice(SM2_NOTE_TYPE);
        out.extend_from_slice(&(self.distid.len() as u16).to_be_bytes());
        out.extend_from_slice(self.distid.as_bytes());
        out.extend_from_slice(&self.point);
        out
    }

    /// SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4], as the signed-note spec recommends. It is an
    /// identifier, not a security check: the signature is what is verified.
    pub fn key_id(&self) -> [u8; 4] {
        let mut hasher = Sha256::new();
        hasher.update(self.name.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.encoded());
        let digest = hasher.finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }

    pub fn to_text(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            BASE64.encode(self.encoded())
        )
    }

    pub fn parse(text: &str) -> Result<NoteVerifierKey, GmError> {
        let text = text.trim();
        // Names hold no '+'; base64 may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(key_id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(GmError::BadKey(
                "a verifier key is NAME+KEYID+BASE64".into(),
            ));
        };
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| GmError::BadKey("the key part is not base64".into()))?;
        let rest = bytes
            .strip_prefix(&[0xff][..])
            .and_then(|rest| rest.strip_prefix(SM2_NOTE_TYPE))
            .ok_or_else(|| {
                GmError::BadKey(format!(
                    "not an SM2 note key (expected type 0xff followed by {})",
                    String::from_utf8_lossy(SM2_NOTE_TYPE)
                ))
            })?;
        if rest.len() < 2 {
            return Err(GmError::BadKey("the key is truncated".into()));
        }
        let distid_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        if rest.len() != distid_len + 65 {
            return Err(GmError::BadKey("the key has the wrong length".into()));
        }
        let distid = std::str::from_utf8(&rest[..distid_len])
            .map_err(|_| GmError::BadKey("the distinguishing ID is not UTF-8".into()))?;
        let key = NoteVerifierKey::new(name, distid, &rest[distid_len..])?;
        if hex::encode(key.key_id()) != key_id {
            return Err(GmError::BadKey("the key ID does not match the key".into()));
        }
        Ok(key)
    }

    /// Verifies a raw SM2 signature (r ‖ s, 64 bytes) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), GmError> {
        let key = VerifyingKey::from_sec1_bytes(&self.distid, &self.point)
            .map_err(|_| GmError::BadKey("not a point on the SM2 curve".into()))?;
        let signature = Signature::from_slice(signature).map_err(|_| GmError::BadSignature)?;
        key.verify(message, &signature)
            .map_err(|_| GmError::BadSignature)
    }
}

fn check_key_name(name: &str) -> Result<(), GmError> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(GmError::BadKey(
            "a key name is non-empty, without spaces or '+'".into(),
        ));
    }
    Ok(())
}

/// Whatever holds a signing key: software today, a cipher machine or token later.
pub trait NoteSigner: Send + Sync {
    fn verifier_key(&self) -> &NoteVerifierKey;

    /// A raw signature over `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, GmError>;
}

/// An SM2 key held in process memory (unsealed from the store at start).
pub struct SoftwareSm2Signer {
    key: SigningKey,
    verifier: NoteVerifierKey,
}

impl SoftwareSm2Signer {
    /// A fresh key pair from the operating system's generator.
    pub fn generate(name: &str, distid: &str) -> Result<SoftwareSm2Signer, GmError> {
        let secret = SecretKey::generate();
        SoftwareSm2Signer::from_secret(name, distid, &secret.to_bytes())
    }

    pub fn from_secret(
        name: &str,
        distid: &str,
        secret: &[u8],
    ) -> Result<SoftwareSm2Signer, GmError> {
        let key = SigningKey::from_slice(distid, secret)
            .map_err(|_| GmError::BadKey("not an SM2 private key".into()))?;
        let point = key.verifying_key().to_sec1_bytes();
        let verifier = NoteVerifierKey::new(name, distid, &point)?;
        Ok(SoftwareSm2Signer { key, verifier })
    }

    /// The 32-byte private scalar, for sealing. Never logged.
    pub fn secret_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.key.to_bytes().to_vec())
    }
}

impl std::fmt::Debug for SoftwareSm2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSm2Signer")
            .field("verifier", &self.verifier.to_text())
            .finish_non_exhaustive()
    }
}

impl NoteSigner for SoftwareSm2Signer {
    fn verifier_key(&self) -> &NoteVerifierKey {
        &self.verifier
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, GmError> {
        let signature: Signature = self
            .key
            .try_sign(message)
            .map_err(|_| GmError::SigningFailed)?;
        Ok(signature.to_bytes().to_vec())
    }
}

/// Signs a note text (which ends in a newline) and returns the whole signed note.
pub fn sign_note(signer: &dyn NoteSigner, text: &str) -> Result<String, GmError> {
    if !text.ends_with('\n') {
        return Err(GmError::BadNote("a note text ends with a newline".into()));
    }
    let signature = signer.sign(text.as_bytes())?;
    let key = signer.verifier_key();
    let mut blob = key.key_id().to_vec();
    blob.extend_from_slice(&signature);
    Ok(format!(
        "{text}\n\u{2014} {} {}\n",
        key.name(),
        BASE64.encode(blob)
    ))
}

/// Checks a signed note against one trusted key and returns its text. Signatures from
/// other keys are ignored (as the spec requires); at least one signature of this key must
/// be present and every one of them must verify.
pub fn open_note(key: &NoteVerifierKey, note: &str) -> Result<String, GmError> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(GmError::BadNote(
            "a note holds no control characters".into(),
        ));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| GmError::BadNote("no blank line before the signatures".into()))?;
    let text = &note[..split + 1];
    let signatures = &note[split + 2..];
    if !signatures.ends_with('\n') {
        return Err(GmError::BadNote(
            "the signature block ends with a newline".into(),
        ));
    }
    let mut verified = false;
    for line in signatures.lines() {
        let line = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| GmError::BadNote(format!("not a signature line: {line:?}")))?;
        let (name, blob) = line
            .rsplit_once(' ')
            .ok_or_else(|| GmError::BadNote("a signature line is '— NAME BASE64'".into()))?;
        let blob = BASE64
            .decode(blob)
            .map_err(|_| GmError::BadNote("a signature is not base64".into()))?;
        if blob.len() < 4 || name != key.name() || blob[..4] != key.key_id() {
            continue;
        }
        key.verify(text.as_bytes(), &blob[4..])?;
        verified = true;
    }
    if verified {
        Ok(text.to_owned())
    } else {
        Err(GmError::BadNote(format!(
            "no signature by the trusted key {}",
            key.name()
        )))
    }
}

#[cfg(test)]
mod tests;
