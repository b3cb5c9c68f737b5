//! PBKDF2-HMAC-SM3 password hashes (RFC 8018 PBKDF2 with HMAC-SM3) for deployments whose
//! cryptography assessment admits national algorithms only. Stored as a PHC-style string
//! `$pbkdf2-sm3$i=ROUNDS$SALT$HASH` (unpadded standard base64), so the verifier knows
//! the algorithm and cost of each hash and a deployment can switch without resetting
//! anyone's password.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use rand::RngCore;

/// The PHC identifier.
pub const PBKDF2_SM3_ID: &str = "pbkdf2-sm3";
/// Rounds for new hashes: OWASP's figure for PBKDF2-HMAC-SHA256 (SM3 costs about the
/// same per block).
pub const PBKDF2_SM3_ROUNDS: u32 = 600_000;

fn derive(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sm3::Sm3>(password, salt, rounds, &mut out);
    out
}

/// A new hash of `password` with a fresh 16-byte salt.
pub fn pbkdf2_sm3_hash(password: &str) -> String {
    pbkdf2_sm3_hash_with(password, PBKDF2_SM3_ROUNDS)
}

/// A new hash with `rounds` (tests use few).
pub fn pbkdf2_sm3_hash_with(password: &str, rounds: u32) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let hash = derive(password.as_bytes(), &salt, rounds);
    format!(
        "${PBKDF2_SM3_ID}$i={rounds}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// Whether `password` matches a `$pbkdf2-sm3$…` string; `false` for anything malformed
/// (and for round counts outside 1,000–10,000,000, which no hash of ours has).
pub fn pbkdf2_sm3_verify(password: &str, phc: &str) -> bool {
    let mut parts = phc.split('$');
    let (Some(""), Some(PBKDF2_SM3_ID), Some(rounds), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some(rounds) = rounds
        .strip_prefix("i=")
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| (1_000..=10_000_000).contains(r))
    else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(hash))
    else {
        return false;
    };
    if expected.len() != 32 || salt.is_empty() {
        return false;
    }
    let actual = derive(password.as_bytes(), &salt, rounds);
    actual
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_and_bad_strings_do_not() {
        let hash = pbkdf2_sm3_hash_with("Quiet-Harbor#7215", 1_000);
        assert!(hash.starts_with("$pbkdf2-sm3$i=1000$"));
        assert!(pbkdf2_sm3_verify("Quiet-Harbor#7215", &hash));
        assert!(!pbkdf2_sm3_verify("Quiet-Harbor#7216", &hash));
        assert_ne!(
            hash,
            pbkdf2_sm3_hash_with("Quiet-Harbor#7215", 1_000),
            "salted"
        );
        for bad in [
            "",
            "$pbkdf2-sm3$i=1000$",
            "$pbkdf2-sm3$i=10$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            &hash.replace("i=1000", "i=99999999999"),
            &format!("{hash}$extra"),
        ] {
            assert!(!pbkdf2_sm3_verify("Quiet-Harbor#7215", bad), "{bad}");
        }
    }

    /// openssl as the peer: `openssl kdf … PBKDF2` with digest SM3.
    #[test]
    fn pbkdf2_sm3_agrees_with_openssl() {
        let output = std::process::Command::new("openssl")
            .args([
                "kdf",
                "-keylen",
                "32",
                "-kdfopt",
                "digest:SM3",
                "-kdfopt",
                "pass:Quiet-Harbor#7215",
                "-kdfopt",
                "salt:yunjian-salt-01",
                "-kdfopt",
                "iter:2048",
                "PBKDF2",
            ])
            .output()
            .expect("openssl runs (scripts/test installs it)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let theirs: String = String::from_utf8_lossy(&output.stdout)
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect::<String>()
            .to_ascii_lowercase();
        let ours = hex::encode(derive(b"Quiet-Harbor#7215", b"yunjian-salt-01", 2048));
        assert_eq!(ours, theirs);
    }
}
