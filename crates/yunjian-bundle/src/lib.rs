//! The audit bundle: what an auditor takes away and verifies without trusting yunjian;
//! and the compliance evidence package (evidence.rs), signed the same way.
//!
//! A bundle is a POSIX tar file (docs/audit-ledger.md):
//! - `manifest.json`: format, line format, origin, hash, scope (`range` or `slice`),
//!   `from`/`to` sequence numbers, tree size, record count, SM3 of `records.jsonl`;
//! - `checkpoint.txt`: the signed checkpoint (C2SP tlog-checkpoint, SM2 signed note) of
//!   the tree the proofs lead to;
//! - `public-key.txt`: the verifier key the server had (an auditor should pass their own
//!   copy with `--public-key`);
//! - `records.jsonl`: the canonical lines, each followed by a newline;
//! - `leaf-hashes.bin`: the server's leaf hash of every record (32 bytes each), used only
//!   to locate a record that does not match;
//! - `proof.json`: for a range, the perfect-subtree hashes left of `from` and right of
//!   `to`; for a slice, one inclusion proof per record; and every earlier signed
//!   checkpoint inside the range.

mod evidence;
mod verify;
mod write;

pub use evidence::{
    verify_evidence_package, EvidenceError, EvidencePackage, PackageFile, PackageManifest,
    VerifiedPackage, PACKAGE_FORMAT,
};
pub use verify::{verify_bundle, Verified, VerifyError};
pub use write::{BundleWriter, WriteError};

use serde::{Deserialize, Serialize};

pub const BUNDLE_FORMAT: &str = "yunjian-audit-bundle/v1";
pub const LINE_FORMAT: &str = "yunjian-audit-line/v1";

/// Contiguous records, or a tenant's selection of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Range,
    Slice,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub line_format: String,
    pub origin: String,
    pub hash: String,
    pub scope: Scope,
    /// First sequence number covered (range) or asked for (slice).
    pub from: u64,
    /// One past the last sequence number covered.
    pub to: u64,
    pub tree_size: u64,
    pub records: u64,
    /// `sm3:HEX` of records.jsonl.
    pub records_sm3: String,
    pub created_at: String,
    /// The tenant whose slice this is.
    pub tenant: Option<i64>,
}

impl Manifest {
    /// A manifest of this format; `records` and `records_sm3` are filled in when the
    /// bundle is written.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origin: &str,
        hash: &str,
        scope: Scope,
        from: u64,
        to: u64,
        tree_size: u64,
        created_at: &str,
        tenant: Option<i64>,
    ) -> Manifest {
        Manifest {
            format: BUNDLE_FORMAT.into(),
            line_format: LINE_FORMAT.into(),
            origin: origin.into(),
            hash: hash.into(),
            scope,
            from,
            to,
            tree_size,
            records: 0,
            records_sm3: String::new(),
            created_at: created_at.into(),
            tenant,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Range: hashes of perfect_nodes(0, from).
    #[serde(default)]
    pub left: Vec<String>,
    /// Range: hashes of perfect_nodes(to, tree_size).
    #[serde(default)]
    pub right: Vec<String>,
    /// Slice: the inclusion proof of each record, in record order.
    #[serde(default)]
    pub inclusion: Vec<Vec<String>>,
    /// Signed checkpoints with from ≤ size ≤ to (range), oldest first.
    #[serde(default)]
    pub checkpoints: Vec<String>,
}
