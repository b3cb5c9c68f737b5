//! The evidence package: a compliance report's files and the evidence behind it, with a
//! manifest of SM3 digests signed with SM2, verifiable offline.
//!
//! A package is a POSIX tar file:
//! - the files, under any relative path (`report.pdf`, `evidence/12-plan.pdf`, …);
//! - `manifest.json`: format, creation time, what the package is about, and every file's
//!   path, size and SM3;
//! - `manifest.sig`: a signed note (C2SP signed-note, SM2) whose text names the format
//!   and the SM3 of `manifest.json`;
//! - `public-key.txt`: the signer's verifier key (a verifier should pass their own copy).

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use yunjian_gm::{open_note, sign_note, NoteSigner, NoteVerifierKey, Sm3Digest};

pub const PACKAGE_FORMAT: &str = "yunjian-evidence-package/v1";
const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.sig";
const PUBLIC_KEY: &str = "public-key.txt";
/// A package holds reports and evidence files; anything larger is not one of ours.
const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFile {
    pub path: String,
    pub size: u64,
    /// `sm3:HEX`
    pub sm3: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManifest {
    pub format: String,
    pub created_at: String,
    /// What the package is about, e.g. `tenant:5 run:12`.
    pub subject: String,
    pub files: Vec<PackageFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("not a readable package: {0}")]
    Unreadable(String),
    #[error("the package has no {0}")]
    Missing(&'static str),
    #[error("manifest.json is not a {PACKAGE_FORMAT} manifest: {0}")]
    BadManifest(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    #[error("cannot sign: {0}")]
    Signing(String),
    #[error("bad path {0:?}: relative, no '..', not a reserved name")]
    BadPath(String),
}

/// What a successful verification established.
#[derive(Clone, Debug)]
pub struct VerifiedPackage {
    pub manifest: PackageManifest,
    /// The key that verified it.
    pub key_name: String,
    /// Whether the key came from the package itself (weaker: pass your own copy).
    pub key_from_package: bool,
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        && ![MANIFEST, SIGNATURE, PUBLIC_KEY].contains(&path)
        && path.len() <= 200
        && !path.chars().any(char::is_control)
}

/// Builds a package in memory.
#[derive(Default)]
pub struct EvidencePackage {
    files: BTreeMap<String, Vec<u8>>,
}

impl EvidencePackage {
    pub fn new() -> EvidencePackage {
        EvidencePackage::default()
    }

    pub fn add(&mut self, path: &str, content: Vec<u8>) -> Result<(), EvidenceError> {
        if !valid_path(path) || self.files.contains_key(path) {
            return Err(EvidenceError::BadPath(path.to_owned()));
        }
        self.files.insert(path.to_owned(), content);
        Ok(())
    }

    /// The signed tar.
    pub fn finish(
        self,
        signer: &dyn NoteSigner,
        subject: &str,
        created_at: &str,
    ) -> Result<Vec<u8>, EvidenceError> {
        let manifest = PackageManifest {
            format: PACKAGE_FORMAT.to_owned(),
            created_at: created_at.to_owned(),
            subject: subject.to_owned(),
            files: self
                .files
                .iter()
                .map(|(path, content)| PackageFile {
                    path: path.clone(),
                    size: content.len() as u64,
                    sm3: format!("sm3:{}", Sm3Digest::of(content).to_hex()),
                })
                .collect(),
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest)
            .map_err(|error| EvidenceError::BadManifest(error.to_string()))?;
        let note = sign_note(signer, &note_text(&manifest_json))
            .map_err(|error| EvidenceError::Signing(error.to_string()))?;
        let mut builder = tar::Builder::new(Vec::new());
        let mut append = |path: &str, content: &[u8]| -> Result<(), EvidenceError> {
            let mut header = tar::Header::new_ustar();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, path, content)
                .map_err(|error| EvidenceError::Unreadable(error.to_string()))
        };
        append(MANIFEST, &manifest_json)?;
        append(SIGNATURE, note.as_bytes())?;
        append(PUBLIC_KEY, signer.verifier_key().to_text().as_bytes())?;
        for (path, content) in &self.files {
            append(path, content)?;
        }
        builder
            .into_inner()
            .map_err(|error| EvidenceError::Unreadable(error.to_string()))
    }
}

fn note_text(manifest_json: &[u8]) -> String {
    format!(
        "{PACKAGE_FORMAT}\nmanifest sm3:{}\n",
        Sm3Digest::of(manifest_json).to_hex()
    )
}

/// Verifies a package: the signature over the manifest (with `key`, or the package's own
/// key when none is given), then every file against the manifest, with nothing missing
/// and nothing extra.
pub fn verify_evidence_package(
    package: &[u8],
    key: Option<&NoteVerifierKey>,
) -> Result<VerifiedPackage, EvidenceError> {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(package);
    for entry in archive
        .entries()
        .map_err(|error| EvidenceError::Unreadable(error.to_string()))?
    {
        let mut entry = entry.map_err(|error| EvidenceError::Unreadable(error.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(EvidenceError::Unreadable(
                "only regular files belong in a package".into(),
            ));
        }
        let path = entry
            .path()
            .map_err(|error| EvidenceError::Unreadable(error.to_string()))?
            .to_string_lossy()
            .into_owned();
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_ENTRY_BYTES {
            return Err(EvidenceError::File {
                path,
                reason: "larger than any package file".into(),
            });
        }
        let mut content = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut content)
            .map_err(|error| EvidenceError::Unreadable(error.to_string()))?;
        if entries.insert(path.clone(), content).is_some() {
            return Err(EvidenceError::File {
                path,
                reason: "appears twice".into(),
            });
        }
    }
    let manifest_json = entries
        .remove(MANIFEST)
        .ok_or(EvidenceError::Missing(MANIFEST))?;
    let note = entries
        .remove(SIGNATURE)
        .ok_or(EvidenceError::Missing(SIGNATURE))?;
    let packaged_key = entries.remove(PUBLIC_KEY);
    let (key, key_from_package) = match key {
        Some(key) => (key.clone(), false),
        None => {
            let text = packaged_key.ok_or(EvidenceError::Missing(PUBLIC_KEY))?;
            let text = String::from_utf8(text)
                .map_err(|_| EvidenceError::BadSignature("public-key.txt is not text".into()))?;
            (
                NoteVerifierKey::parse(text.trim())
                    .map_err(|error| EvidenceError::BadSignature(error.to_string()))?,
                true,
            )
        }
    };
    let note = String::from_utf8(note)
        .map_err(|_| EvidenceError::BadSignature("manifest.sig is not text".into()))?;
    let text =
        open_note(&key, &note).map_err(|error| EvidenceError::BadSignature(error.to_string()))?;
    if text != note_text(&manifest_json) {
        return Err(EvidenceError::BadSignature(
            "the signed digest is not the manifest's: manifest.json was changed".into(),
        ));
    }
    let manifest: PackageManifest = serde_json::from_slice(&manifest_json)
        .map_err(|error| EvidenceError::BadManifest(error.to_string()))?;
    if manifest.format != PACKAGE_FORMAT {
        return Err(EvidenceError::BadManifest(format!(
            "format {:?}",
            manifest.format
        )));
    }
    for file in &manifest.files {
        let content = entries
            .remove(&file.path)
            .ok_or_else(|| EvidenceError::File {
                path: file.path.clone(),
                reason: "listed in the manifest but missing".into(),
            })?;
        if content.len() as u64 != file.size {
            return Err(EvidenceError::File {
                path: file.path.clone(),
                reason: format!(
                    "{} bytes where the manifest says {}",
                    content.len(),
                    file.size
                ),
            });
        }
        let digest = format!("sm3:{}", Sm3Digest::of(&content).to_hex());
        if digest != file.sm3 {
            return Err(EvidenceError::File {
                path: file.path.clone(),
                reason: "its SM3 digest is not the manifest's: the file was changed".into(),
            });
        }
    }
    if let Some(path) = entries.keys().next() {
        return Err(EvidenceError::File {
            path: path.clone(),
            reason: "not in the manifest".into(),
        });
    }
    Ok(VerifiedPackage {
        manifest,
        key_name: key.name().to_owned(),
        key_from_package,
    })
}

#[cfg(test)]
mod tests {
    use yunjian_gm::SoftwareSm2Signer;

    use super::*;

    fn package(signer: &SoftwareSm2Signer) -> Vec<u8> {
        let mut package = EvidencePackage::new();
        package
            .add("report.json", br#"{"status":"FAIL"}"#.to_vec())
            .expect("add");
        package
            .add("evidence/1-plan.pdf", b"%PDF plan".to_vec())
            .expect("add");
        package
            .finish(signer, "tenant:5 run:3", "2026-11-24T00:00:00Z")
            .expect("finish")
    }

    /// Rewrites one entry's bytes in place (same length), as an attacker with the file would.
    fn tamper(bytes: &mut [u8], needle: &[u8], replacement: &[u8]) {
        let at = bytes
            .windows(needle.len())
            .position(|window| window == needle)
            .expect("needle");
        bytes[at..at + replacement.len()].copy_from_slice(replacement);
    }

    #[test]
    fn a_package_verifies_and_any_change_is_found() {
        let signer = SoftwareSm2Signer::generate("yunjian.test", "1234567812345678").expect("key");
        let bytes = package(&signer);
        let verified =
            verify_evidence_package(&bytes, Some(signer.verifier_key())).expect("verifies");
        assert_eq!(verified.manifest.files.len(), 2);
        assert!(!verified.key_from_package);
        assert!(
            verify_evidence_package(&bytes, None)
                .expect("own key")
                .key_from_package
        );

        // A changed file.
        let mut changed = bytes.clone();
        tamper(&mut changed, b"%PDF plan", b"%PDF plaN");
        let error = verify_evidence_package(&changed, Some(signer.verifier_key()))
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains("evidence/1-plan.pdf") && error.contains("SM3"),
            "{error}"
        );

        // A changed manifest (a digest swapped for another).
        let mut changed = bytes.clone();
        tamper(&mut changed, b"tenant:5", b"tenant:6");
        let error = verify_evidence_package(&changed, Some(signer.verifier_key()))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("manifest.json was changed"), "{error}");

        // Another key.
        let other = SoftwareSm2Signer::generate("yunjian.test", "1234567812345678").expect("key");
        assert!(matches!(
            verify_evidence_package(&bytes, Some(other.verifier_key())),
            Err(EvidenceError::BadSignature(_))
        ));

        // Garbage.
        assert!(verify_evidence_package(b"not a tar", None).is_err());
    }

    #[test]
    fn paths_are_checked() {
        let mut package = EvidencePackage::new();
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a//b",
            "manifest.json",
            "a\\b",
            "a/./b",
        ] {
            assert!(package.add(bad, Vec::new()).is_err(), "{bad:?}");
        }
        package.add("a/b.txt", Vec::new()).expect("ok");
        assert!(package.add("a/b.txt", Vec::new()).is_err(), "duplicates");
    }
}
