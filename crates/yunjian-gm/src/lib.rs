//! The one place that touches cryptography.
//!
//! SM3 (GB/T 32905) digests (session tokens stored as digests, object digests in audit
//! records, the ledger's tree hash), SM2 (GB/T 32918) signed notes for the ledger's
//! checkpoints behind the [`NoteSigner`] provider interface (so a cipher machine or
//! PKCS#11 token can replace the software key), SM4-GCM sealing of secrets kept in the
//! store, and random secrets.

mod password_hash;
pub mod request_signing;
mod seal;
mod sign;
mod totp;

pub use password_hash::{
    pbkdf2_sm3_hash, pbkdf2_sm3_hash_with, pbkdf2_sm3_verify, PBKDF2_SM3_ID, PBKDF2_SM3_ROUNDS,
};
pub use seal::SealingKey;
pub use sign::{
    open_note, sign_note, NoteSigner, NoteVerifierKey, SoftwareSm2Signer, DEFAULT_DISTID,
    SM2_NOTE_TYPE,
};
pub use totp::Totp;

/// Why a cryptographic operation failed. Messages never include key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GmError {
    #[error("bad key: {0}")]
    BadKey(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("signing failed")]
    SigningFailed,
    #[error("bad signed note: {0}")]
    BadNote(String),
    #[error("cannot open sealed value: {0}")]
    BadSealed(String),
}

use rand::RngCore;
use sm3::{Digest, Sm3};
use yunjian_core::ledger::{Hash, TreeHasher};

/// An SM3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sm3Digest(pub [u8; 32]);

impl Sm3Digest {
    pub fn of(data: &[u8]) -> Sm3Digest {
        Sm3Digest(Sm3::digest(data).into())
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

/// SM3 over data that arrives in pieces.
#[derive(Clone, Default)]
pub struct Sm3Stream(Sm3);

impl Sm3Stream {
    pub fn new() -> Sm3Stream {
        Sm3Stream::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> Sm3Digest {
        Sm3Digest(self.0.finalize().into())
    }
}

impl std::fmt::Debug for Sm3Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sm3:{}", self.to_hex())
    }
}

impl LedgerHash {
    pub fn name(self) -> &'static str {
        match self {
            LedgerHash::Sm3 => "sm3",
            LedgerHash::Sha256 => "sha256",
        }
    }

    pub fn parse(text: &str) -> Option<LedgerHash> {
        [LedgerHash::Sm3, LedgerHash::Sha256]
            .into_iter()
            .find(|hash| hash.name() == text)
    }
}

/// The audit ledger's tree hash: SM3 (the default, GB/T 39786 asks for SM3 integrity of
/// log records) or SHA-256 (so the same tree can be checked against RFC 6962 tooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerHash {
    Sm3,
    Sha256,
}

impl TreeHasher for LedgerHash {
    fn digest(&self, parts: &[&[u8]]) -> Hash {
        match self {
            LedgerHash::Sm3 => {
                let mut hasher = Sm3::new();
                for part in parts {
                    hasher.update(part);
                }
                hasher.finalize().into()
            }
            LedgerHash::Sha256 => {
                let mut hasher = sha2::Sha256::new();
                for part in parts {
                    hasher.update(part);
                }
                hasher.finalize().into()
            }
        }
    }
}

/// A secret of `bytes` random bytes from the operating system's generator, as lowercase
/// hex. Used for session tokens, CSRF tokens and one-time passwords.
pub fn random_secret_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A random password of `length` characters from an alphabet without look-alikes, with
/// at least one character of each of four classes (so it passes any complexity policy).
pub fn random_password(length: usize) -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!@#%^*-_=+";
    let classes = [LOWER, UPPER, DIGITS, SYMBOLS];
    let length = length.max(classes.len());
    let mut rng = rand::rng();
    let mut pick = |alphabet: &[u8]| alphabet[(rng.next_u32() as usize) % alphabet.len()] as char;
    loop {
        // One of each class in turn, then shuffled so the pattern is not positional.
        let mut chars: Vec<char> = (0..length).map(|index| pick(classes[index % 4])).collect();
        for i in (1..chars.len()).rev() {
            let j = (rand::rng().next_u32() as usize) % (i + 1);
            chars.swap(i, j);
        }
        let password: String = chars.into_iter().collect();
        if classes
            .iter()
            .all(|class| password.bytes().any(|b| class.contains(&b)))
        {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use yunjian_core::ledger::{root, TreeHasher};

    use super::{random_password, random_secret_hex, LedgerHash, Sm3Digest};

    /// The ledger hashers give the vectors of ../shared/spec/ledger-test-vectors.md.
    #[test]
    fn ledger_hashers_give_the_reference_tree_heads() {
        let leaves: Vec<Vec<u8>> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|leaf| hex::decode(leaf).expect("hex"))
        .collect();
        let head = |hasher: LedgerHash| {
            let hashes: Vec<_> = leaves.iter().map(|leaf| hasher.leaf(leaf)).collect();
            hex::encode(root(&hasher, &hashes))
        };
        assert_eq!(
            head(LedgerHash::Sm3),
            "bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38"
        );
        assert!(head(LedgerHash::Sha256).starts_with("5dc9da79"));
        assert_eq!(
            hex::encode(LedgerHash::Sm3.empty_root()),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    /// GB/T 32905-2016 appendix A, example 1.
    #[test]
    fn sm3_of_abc_is_the_standard_vector() {
        assert_eq!(
            Sm3Digest::of(b"abc").to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn secrets_and_passwords_are_fresh_and_complex() {
        assert_ne!(random_secret_hex(32), random_secret_hex(32));
        assert_eq!(random_secret_hex(32).len(), 64);
        let password = random_password(16);
        assert_eq!(password.chars().count(), 16);
        assert!(password.chars().any(|c| c.is_ascii_uppercase()));
        assert!(password.chars().any(|c| c.is_ascii_lowercase()));
        assert!(password.chars().any(|c| c.is_ascii_digit()));
    }
}
