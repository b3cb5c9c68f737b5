//! Writing a bundle: records stream into temporary files (a bundle may hold millions),
//! then everything goes into the tar in a fixed order.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use yunjian_core::ledger::Hash;
use yunjian_gm::Sm3Stream;

use crate::{Manifest, Proof};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the bundle: {0}")]
    Io(#[from] std::io::Error),
    #[error("records must be added in increasing sequence order ({0} after {1})")]
    Order(u64, u64),
}

const README: &str = "yunjian audit bundle (yunjian-audit-bundle/v1)\n\
\n\
Verify offline: yunjian audit verify THIS.tar --public-key KEY.txt\n\
Layout and formats: docs/audit-ledger.md in the yunjian source.\n\
records.jsonl holds one canonical record per line; each record's leaf hash is\n\
H(0x00 || line without its newline), nodes H(0x01 || left || right) (RFC 9162),\n\
H as named in manifest.json. checkpoint.txt is a C2SP signed note over the tree head.\n";

pub struct BundleWriter {
    records: BufWriter<tempfile::NamedTempFile>,
    leaves: BufWriter<tempfile::NamedTempFile>,
    digest: Sm3Stream,
    count: u64,
    last: Option<u64>,
}

impl BundleWriter {
    pub fn new() -> Result<BundleWriter, WriteError> {
        Ok(BundleWriter {
            records: BufWriter::new(tempfile::NamedTempFile::new()?),
            leaves: BufWriter::new(tempfile::NamedTempFile::new()?),
            digest: Sm3Stream::new(),
            count: 0,
            last: None,
        })
    }

    pub fn push(&mut self, seq: u64, line: &str, leaf_hash: &Hash) -> Result<(), WriteError> {
        if let Some(last) = self.last {
            if seq <= last {
                return Err(WriteError::Order(seq, last));
            }
        }
        self.last = Some(seq);
        self.records.write_all(line.as_bytes())?;
        self.records.write_all(b"\n")?;
        self.digest.update(line.as_bytes());
        self.digest.update(b"\n");
        self.leaves.write_all(leaf_hash)?;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the tar. `manifest.records` and `records_sm3` are filled in here.
    pub fn finish(
        self,
        mut manifest: Manifest,
        checkpoint_note: &str,
        verifier_key: &str,
        proof: &Proof,
        out: impl Write,
    ) -> Result<(), WriteError> {
        manifest.records = self.count;
        manifest.records_sm3 = format!("sm3:{}", self.digest.finish().to_hex());
        let mut records = self
            .records
            .into_inner()
            .map_err(|error| error.into_error())?;
        let mut leaves = self
            .leaves
            .into_inner()
            .map_err(|error| error.into_error())?;
        let mut tar = tar::Builder::new(out);
        let mut add = |name: &str, data: &mut dyn Read, size: u64| -> std::io::Result<()> {
            let mut header = tar::Header::new_ustar();
            header.set_size(size);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, name, data)
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        add("README.txt", &mut README.as_bytes(), README.len() as u64)?;
        add(
            "manifest.json",
            &mut &manifest_json[..],
            manifest_json.len() as u64,
        )?;
        add(
            "checkpoint.txt",
            &mut checkpoint_note.as_bytes(),
            checkpoint_note.len() as u64,
        )?;
        let key = format!("{verifier_key}\n");
        add("public-key.txt", &mut key.as_bytes(), key.len() as u64)?;
        let proof_json = serde_json::to_vec(proof).expect("proof serializes");
        add("proof.json", &mut &proof_json[..], proof_json.len() as u64)?;
        let size = records.as_file().metadata()?.len();
        records.as_file_mut().seek(SeekFrom::Start(0))?;
        add("records.jsonl", records.as_file_mut(), size)?;
        let size = leaves.as_file().metadata()?.len();
        leaves.as_file_mut().seek(SeekFrom::Start(0))?;
        add("leaf-hashes.bin", leaves.as_file_mut(), size)?;
        tar.into_inner()?.flush()?;
        Ok(())
    }
}
