//! One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA-1, the
//! algorithm every authenticator app implements, 6 digits, 30-second steps.
//!
//! Verification accepts one step either side (clock drift) and refuses a code whose step
//! is not after the last one accepted for the account (a code is good once).

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha1::Sha1;

use crate::GmError;

/// A TOTP secret (20 random bytes, as RFC 4226 recommends).
#[derive(Clone)]
pub struct Totp {
    secret: zeroize::Zeroizing<Vec<u8>>,
    digits: u32,
    period: u64,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp(…)")
    }
}

impl Totp {
    pub const DIGITS: u32 = 6;
    pub const PERIOD: u64 = 30;

    pub fn generate() -> Totp {
        let mut secret = vec![0u8; 20];
        rand::rng().fill_bytes(&mut secret);
        Totp::from_secret(&secret)
    }

    pub fn from_secret(secret: &[u8]) -> Totp {
        Totp {
            secret: zeroize::Zeroizing::new(secret.to_vec()),
            digits: Totp::DIGITS,
            period: Totp::PERIOD,
        }
    }

    /// From the base32 form apps and `oathtool -b` use (padding and case tolerated).
    pub fn from_base32(text: &str) -> Result<Totp, GmError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let secret = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| GmError::BadKey("a TOTP secret is base32".into()))?;
        if secret.len() < 10 {
            return Err(GmError::BadKey("a TOTP secret has at least 80 bits".into()));
        }
        Ok(Totp::from_secret(&secret))
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    pub fn to_base32(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(BASE32_NOPAD.encode(&self.secret))
    }

    #[cfg(test)]
    fn with_digits(mut self, digits: u32) -> Totp {
        self.digits = digits;
        self
    }

    /// HOTP value for a counter (RFC 4226 §5.3), zero-padded.
    pub fn hotp(&self, counter: u64) -> String {
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let binary = (u32::from(digest[offset] & 0x7f) << 24)
            | (u32::from(digest[offset + 1]) << 16)
            | (u32::from(digest[offset + 2]) << 8)
            | u32::from(digest[offset + 3]);
        let value = binary % 10u32.pow(self.digits);
        format!("{value:0width$}", width = self.digits as usize)
    }

    /// The time step of a Unix time.
    pub fn step(&self, unix_seconds: u64) -> u64 {
        unix_seconds / self.period
    }

    /// The code at a Unix time.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.hotp(self.step(unix_seconds))
    }

    /// Checks `code` at `unix_seconds`, one step of drift either side, refusing any step
    /// not after `last_step` (replay). Returns the step that matched.
    pub fn verify(&self, code: &str, unix_seconds: u64, last_step: Option<u64>) -> Option<u64> {
        let code = code.trim();
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = self.step(unix_seconds);
        let mut matched = None;
        // Every candidate is compared (in constant time) so timing does not tell which.
        for step in [now.saturating_sub(1), now, now + 1] {
            if constant_time_eq(self.hotp(step).as_bytes(), code.as_bytes())
                && last_step.is_none_or(|last| step > last)
                && matched.is_none()
            {
                matched = Some(step);
            }
        }
        matched
    }

    /// The `otpauth://` URI an authenticator app scans.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{issuer}:{account}");
        format!(
            "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
            percent(&label),
            self.to_base32().as_str(),
            percent(issuer),
            self.digits,
            self.period
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Percent-encoding of everything but unreserved characters (RFC 3986).
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Totp;

    /// RFC 4226 appendix D: HOTP of the ASCII secret "12345678901234567890".
    #[test]
    fn hotp_matches_rfc_4226() {
        let totp = Totp::from_secret(b"12345678901234567890");
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(totp.hotp(counter as u64), *code);
        }
    }

    /// RFC 6238 appendix B, SHA-1 rows (8 digits).
    #[test]
    fn totp_matches_rfc_6238() {
        let totp = Totp::from_secret(b"12345678901234567890").with_digits(8);
        for (time, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.code_at(time), code, "T = {time}");
        }
    }

    #[test]
    fn codes_verify_once_within_one_step_of_drift() {
        let totp = Totp::generate();
        let now = 1_795_485_600;
        let code = totp.code_at(now);
        let step = totp.verify(&code, now, None).expect("the current code");
        assert_eq!(
            totp.verify(&code, now, Some(step)),
            None,
            "a code is good once"
        );
        assert!(
            totp.verify(&totp.code_at(now - 30), now, None).is_some(),
            "one step late"
        );
        assert!(
            totp.verify(&totp.code_at(now + 30), now, None).is_some(),
            "one step early"
        );
        assert_eq!(
            totp.verify(&totp.code_at(now - 90), now, None),
            None,
            "too old"
        );
        for bad in ["", "12345", "1234567", "abcdef", " 12 456"] {
            assert_eq!(totp.verify(bad, now, None), None, "{bad:?}");
        }
        let round = Totp::from_base32(&totp.to_base32()).expect("base32");
        assert_eq!(round.secret(), totp.secret());
        assert!(Totp::from_base32("not base32!").is_err());
        assert!(Totp::from_base32("GEZDGNBV").is_err(), "too short");
        let uri = totp.otpauth_uri("云监 yunjian", "sysadmin");
        assert!(
            uri.starts_with("otpauth://totp/%E4%BA%91%E7%9B%91%20yunjian%3Asysadmin?secret="),
            "{uri}"
        );
        assert!(uri.contains("&digits=6&period=30"));
    }
}
