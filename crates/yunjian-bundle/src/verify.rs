//! Offline verification: the bundle and a public key, nothing else.
//!
//! Order of checks: the checkpoint's signature; every line parses as a v1 record and
//! sits at its sequence number; the records (with the proof hashes) rebuild the signed
//! tree head; every earlier checkpoint in the range matches the tree at its size; a
//! `--previous` checkpoint is consistent. When the head does not match, the server's leaf
//! hashes locate the record that differs, if they themselves rebuild the signed head.

use std::collections::HashMap;
use std::io::Read;

use yunjian_core::audit::check_line;
use yunjian_core::ledger::{
    interior_nodes, perfect_nodes, verify_inclusion, Checkpoint, Frontier, Hash, NodeId, TreeHasher,
};
use yunjian_gm::{open_note, LedgerHash, NoteVerifierKey};

use crate::{Manifest, Proof, Scope, BUNDLE_FORMAT, LINE_FORMAT};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("cannot read the bundle: {0}")]
    Unreadable(String),
    #[error("the bundle lacks {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Malformed(String),
    #[error("the checkpoint's signature does not verify with the trusted key: {0}")]
    Signature(String),
    #[error("record on line {line}: {reason}")]
    Record { line: u64, reason: String },
    #[error("record seq {seq} (line {line}) was altered: its content does not hash to the ledger's leaf")]
    Altered { seq: u64, line: u64 },
    #[error("the records do not rebuild the signed tree head, and the bundle's proof hashes are altered too, so the change cannot be located")]
    Unlocatable,
    #[error("the bundle's proof hashes (proof.json) are altered: the records are intact but the tree head does not match")]
    ProofAltered,
    #[error("checkpoint of size {size} inside the bundle: {reason}")]
    EarlierCheckpoint { size: u64, reason: String },
    #[error("previous checkpoint: {0}")]
    Previous(String),
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub manifest: Manifest,
    pub checkpoint: Checkpoint,
    pub key: String,
    /// Whether the key came from the bundle itself (no `--public-key` given).
    pub key_from_bundle: bool,
    pub records: u64,
    pub earlier_checkpoints: usize,
    pub previous_size: Option<u64>,
}

fn malformed(text: impl Into<String>) -> VerifyError {
    VerifyError::Malformed(text.into())
}

fn parse_hashes(list: &[String], what: &str) -> Result<Vec<Hash>, VerifyError> {
    list.iter()
        .map(|text| {
            hex::decode(text)
                .ok()
                .and_then(|bytes| Hash::try_from(bytes).ok())
                .ok_or_else(|| malformed(format!("{what}: {text:?} is not a hash")))
        })
        .collect()
}

fn read_entries(bundle: impl Read) -> Result<HashMap<String, Vec<u8>>, VerifyError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = HashMap::new();
    let unreadable = |error: std::io::Error| VerifyError::Unreadable(error.to_string());
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let name = entry
            .path()
            .map_err(unreadable)?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 30));
        entry.read_to_end(&mut data).map_err(unreadable)?;
        if entries.insert(name.clone(), data).is_some() {
            return Err(malformed(format!("{name} appears twice")));
        }
    }
    Ok(entries)
}

/// What the workers computed: (seq, leaf) per line, and the interior nodes wholly inside
/// each worker's piece (so joining the tree on one thread hashes only the seams).
struct Hashed {
    lines: Vec<(u64, Hash)>,
    /// In the order a sequential build completes them (seams between pieces missing).
    nodes: Vec<(NodeId, Hash)>,
}

/// Checks and hashes lines on every core. `tree_start` is the leaf index of the first
/// line when the lines are contiguous leaves (a range), `None` for a slice.
fn hash_lines(
    hash: LedgerHash,
    lines: &[&[u8]],
    tree_start: Option<u64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Hashed, VerifyError> {
    let first_line = 1;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let chunk = lines.len().div_ceil(threads).max(1);
    type Piece = (Vec<(u64, Hash)>, Vec<(NodeId, Hash)>);
    let results: Vec<Result<Piece, VerifyError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(part, lines)| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(lines.len());
                    for (offset, line) in lines.iter().enumerate() {
                        let number = first_line + (part * chunk + offset) as u64;
                        let seq = check_line(line).map_err(|error| VerifyError::Record {
                            line: number,
                            reason: error.to_string(),
                        })?;
                        out.push((seq, hash.leaf(line)));
                        if offset % 65_536 == 65_535 {
                            progress(65_536);
                        }
                    }
                    progress((lines.len() % 65_536) as u64);
                    let nodes = match tree_start {
                        Some(start) => {
                            let leaves: Vec<Hash> = out.iter().map(|(_, leaf)| *leaf).collect();
                            interior_nodes(&hash, start + (part * chunk) as u64, &leaves)
                        }
                        None => Vec::new(),
                    };
                    Ok((out, nodes))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(malformed("a verifier thread failed")))
            })
            .collect()
    });
    let mut all = Hashed {
        lines: Vec::with_capacity(lines.len()),
        nodes: Vec::new(),
    };
    for part in results {
        let (lines, nodes) = part?;
        all.lines.extend(lines);
        all.nodes.extend(nodes);
    }
    Ok(all)
}

/// Verifies a bundle. `trusted_key` is the auditor's own copy of the public key (without
/// it, the bundle's key is used and the result says so); `previous` an earlier signed
/// checkpoint the bundle must be consistent with. `progress` is told how many records
/// were checked as work proceeds.
pub fn verify_bundle(
    bundle: impl Read,
    trusted_key: Option<&str>,
    previous: Option<&str>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verified, VerifyError> {
    let entries = read_entries(bundle)?;
    let entry = |name: &'static str| entries.get(name).ok_or(VerifyError::Missing(name));
    let manifest: Manifest = serde_json::from_slice(entry("manifest.json")?)
        .map_err(|error| malformed(format!("manifest.json: {error}")))?;
    if manifest.format != BUNDLE_FORMAT || manifest.line_format != LINE_FORMAT {
        return Err(malformed(format!(
            "unsupported bundle format {} / {}",
            manifest.format, manifest.line_format
        )));
    }
    let hash = LedgerHash::parse(&manifest.hash)
        .ok_or_else(|| malformed(format!("unknown hash {:?}", manifest.hash)))?;
    let bundled_key = String::from_utf8_lossy(entry("public-key.txt")?)
        .trim()
        .to_owned();
    let key_text = trusted_key.map_or(bundled_key.clone(), |key| key.trim().to_owned());
    let key = NoteVerifierKey::parse(&key_text)
        .map_err(|error| VerifyError::Signature(error.to_string()))?;
    let note = std::str::from_utf8(entry("checkpoint.txt")?)
        .map_err(|_| malformed("checkpoint.txt is not UTF-8"))?;
    let text = open_note(&key, note).map_err(|error| VerifyError::Signature(error.to_string()))?;
    let checkpoint = Checkpoint::parse(&text).map_err(|error| malformed(error.to_string()))?;
    if checkpoint.origin != manifest.origin || checkpoint.size != manifest.tree_size {
        return Err(malformed(format!(
            "the manifest names {} at size {}, the signed checkpoint {} at size {}",
            manifest.origin, manifest.tree_size, checkpoint.origin, checkpoint.size
        )));
    }
    if manifest.from > manifest.to || manifest.to > checkpoint.size {
        return Err(malformed(format!(
            "range [{}, {}) does not fit a tree of {}",
            manifest.from, manifest.to, checkpoint.size
        )));
    }
    let proof: Proof = serde_json::from_slice(entry("proof.json")?)
        .map_err(|error| malformed(format!("proof.json: {error}")))?;
    let records = entry("records.jsonl")?;
    // `records_sm3` is a convenience for archives (an unsigned file digest); the signed
    // tree head below is what authenticates the records.
    let body = records.strip_suffix(b"\n").unwrap_or(records);
    let lines: Vec<&[u8]> = if records.is_empty() {
        Vec::new()
    } else {
        if !records.ends_with(b"\n") {
            return Err(VerifyError::Record {
                line: body.split(|b| *b == b'\n').count() as u64,
                reason: "the last record is not followed by a newline (truncated?)".into(),
            });
        }
        // memchr: a byte-at-a-time split was a sixth of the verification time.
        let mut lines = Vec::with_capacity(body.len() / 256);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', body) {
            lines.push(&body[start..end]);
            start = end + 1;
        }
        lines.push(&body[start..]);
        lines
    };
    let tree_start = (manifest.scope == Scope::Range).then_some(manifest.from);
    let Hashed {
        lines: hashed,
        nodes: known,
    } = hash_lines(hash, &lines, tree_start, progress)?;
    let verified = |earlier: usize, previous_size: Option<u64>| Verified {
        manifest: manifest.clone(),
        checkpoint: checkpoint.clone(),
        key: key.to_text(),
        key_from_bundle: trusted_key.is_none(),
        records: lines.len() as u64,
        earlier_checkpoints: earlier,
        previous_size,
    };
    let previous = previous
        .map(|note| {
            let text =
                open_note(&key, note).map_err(|error| VerifyError::Previous(error.to_string()))?;
            Checkpoint::parse(&text).map_err(|error| VerifyError::Previous(error.to_string()))
        })
        .transpose()?;
    match manifest.scope {
        Scope::Slice => {
            if proof.inclusion.len() != hashed.len() {
                return Err(malformed(format!(
                    "{} records but {} inclusion proofs",
                    hashed.len(),
                    proof.inclusion.len()
                )));
            }
            let mut last: Option<u64> = None;
            for (index, ((seq, leaf), path)) in hashed.iter().zip(&proof.inclusion).enumerate() {
                let line = index as u64 + 1;
                if last.is_some_and(|last| *seq <= last) || *seq >= checkpoint.size {
                    return Err(VerifyError::Record {
                        line,
                        reason: format!("seq {seq} is out of order or beyond the tree"),
                    });
                }
                last = Some(*seq);
                let path = parse_hashes(path, "inclusion proof")?;
                verify_inclusion(&hash, *seq, checkpoint.size, leaf, &path, &checkpoint.root)
                    .map_err(|_| VerifyError::Altered { seq: *seq, line })?;
            }
            if let Some(previous) = previous {
                if previous.size != checkpoint.size || previous.root != checkpoint.root {
                    return Err(VerifyError::Previous(
                        "a slice bundle can only be compared with a checkpoint of its own size"
                            .into(),
                    ));
                }
                return Ok(verified(0, Some(previous.size)));
            }
            Ok(verified(0, None))
        }
        Scope::Range => {
            // Every line sits at its place: this names dropped, inserted and reordered
            // records directly.
            for (index, (seq, _)) in hashed.iter().enumerate() {
                let expected = manifest.from + index as u64;
                if *seq != expected {
                    return Err(VerifyError::Record {
                        line: index as u64 + 1,
                        reason: format!(
                            "holds seq {seq} where seq {expected} belongs (a record was dropped, inserted or moved)"
                        ),
                    });
                }
            }
            if manifest.from + hashed.len() as u64 != manifest.to {
                return Err(VerifyError::Record {
                    line: hashed.len() as u64,
                    reason: format!(
                        "the range [{}, {}) needs {} records, the bundle has {}",
                        manifest.from,
                        manifest.to,
                        manifest.to - manifest.from,
                        hashed.len()
                    ),
                });
            }
            let left = parse_hashes(&proof.left, "left hashes")?;
            let right = parse_hashes(&proof.right, "right hashes")?;
            let right_ids = perfect_nodes(manifest.to, checkpoint.size);
            let wanted: HashMap<u64, Checkpoint> = proof
                .checkpoints
                .iter()
                .map(|note| {
                    let size_hint = note
                        .lines()
                        .nth(1)
                        .and_then(|size| size.parse().ok())
                        .unwrap_or(u64::MAX);
                    let text =
                        open_note(&key, note).map_err(|error| VerifyError::EarlierCheckpoint {
                            size: size_hint,
                            reason: error.to_string(),
                        })?;
                    let parsed = Checkpoint::parse(&text).map_err(|error| {
                        VerifyError::EarlierCheckpoint {
                            size: size_hint,
                            reason: error.to_string(),
                        }
                    })?;
                    Ok((parsed.size, parsed))
                })
                .collect::<Result<_, VerifyError>>()?;
            let leaves: Vec<Hash> = hashed.iter().map(|(_, leaf)| *leaf).collect();
            let rebuild =
                |leaves: &[Hash], known: &[(NodeId, Hash)]| -> Option<(Hash, HashMap<u64, Hash>)> {
                    let mut cursor = 0;
                    let mut frontier = Frontier::from_parts(manifest.from, left.clone())?;
                    let mut roots = HashMap::new();
                    let note_root = |frontier: &Frontier, roots: &mut HashMap<u64, Hash>| {
                        let size = frontier.size();
                        if wanted.contains_key(&size)
                            || previous.as_ref().is_some_and(|p| p.size == size)
                        {
                            roots.insert(size, frontier.root(&hash));
                        }
                    };
                    note_root(&frontier, &mut roots);
                    for leaf in leaves {
                        frontier.push_known(&hash, *leaf, |id| match known.get(cursor) {
                            Some((next, node)) if *next == id => {
                                cursor += 1;
                                Some(*node)
                            }
                            _ => None,
                        });
                        note_root(&frontier, &mut roots);
                    }
                    if right.len() != right_ids.len() {
                        return None;
                    }
                    for (id, node) in right_ids.iter().zip(&right) {
                        frontier.push_node(&hash, id.level, *node, &mut |_, _| {});
                    }
                    Some((frontier.root(&hash), roots))
                };
            let Some((root, roots)) =
                rebuild(&leaves, &known).filter(|(root, _)| *root == checkpoint.root)
            else {
                return Err(locate(
                    &entries,
                    &leaves,
                    manifest.from,
                    &checkpoint,
                    |server| rebuild(server, &[]),
                ));
            };
            for (size, earlier) in &wanted {
                if *size < manifest.from || *size > manifest.to {
                    return Err(VerifyError::EarlierCheckpoint {
                        size: *size,
                        reason: format!("outside the range [{}, {}]", manifest.from, manifest.to),
                    });
                }
                if roots.get(size) != Some(&earlier.root) || earlier.origin != checkpoint.origin {
                    return Err(VerifyError::EarlierCheckpoint {
                        size: *size,
                        reason: "the signed head differs from the tree at that size: history was rewritten".into(),
                    });
                }
            }
            debug_assert_eq!(root, checkpoint.root);
            let previous_size = match previous {
                None => None,
                Some(previous) => {
                    let matches = if previous.size == checkpoint.size {
                        previous.root == checkpoint.root
                    } else if previous.size >= manifest.from && previous.size <= manifest.to {
                        roots.get(&previous.size) == Some(&previous.root)
                    } else {
                        return Err(VerifyError::Previous(format!(
                            "its size {} is outside this bundle's range [{}, {}]; export a range that includes it",
                            previous.size, manifest.from, manifest.to
                        )));
                    };
                    if !matches || previous.origin != checkpoint.origin {
                        return Err(VerifyError::Previous(format!(
                            "the log at size {} differs from the earlier signed head: history was rewritten",
                            previous.size
                        )));
                    }
                    Some(previous.size)
                }
            };
            Ok(verified(wanted.len(), previous_size))
        }
    }
}

/// The head did not match: find which record differs, using the server's leaf hashes if
/// they (rather than the records) rebuild the signed head.
fn locate(
    entries: &HashMap<String, Vec<u8>>,
    leaves: &[Hash],
    from: u64,
    checkpoint: &Checkpoint,
    rebuild: impl Fn(&[Hash]) -> Option<(Hash, HashMap<u64, Hash>)>,
) -> VerifyError {
    let Some(bin) = entries.get("leaf-hashes.bin") else {
        return VerifyError::Unlocatable;
    };
    if bin.len() % 32 != 0 {
        return VerifyError::Unlocatable;
    }
    let server: Vec<Hash> = bin
        .chunks(32)
        .map(|chunk| Hash::try_from(chunk).expect("32-byte chunks"))
        .collect();
    if server.as_slice() == leaves {
        // The records are what the server exported; the proof hashes around them are not.
        return VerifyError::ProofAltered;
    }
    let server_matches = server.len() == leaves.len()
        && rebuild(&server).is_some_and(|(root, _)| root == checkpoint.root);
    if !server_matches {
        return VerifyError::Unlocatable;
    }
    let index = leaves
        .iter()
        .zip(&server)
        .position(|(ours, theirs)| ours != theirs)
        .expect("the lists differ and have the same length");
    VerifyError::Altered {
        seq: from + index as u64,
        line: index as u64 + 1,
    }
}
