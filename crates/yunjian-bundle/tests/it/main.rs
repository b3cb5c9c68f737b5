//! Bundles built from a real tree and a real SM2 key verify; every kind of tampering
//! with the records (change, drop, reorder, insert) fails and is named, and so does
//! tampering with the proofs or the checkpoint.

use proptest::prelude::*;
use yunjian_bundle::{verify_bundle, BundleWriter, Manifest, Proof, Scope, VerifyError};
use yunjian_core::audit::{record_line, AuditOutcome, NewAuditRecord};
use yunjian_core::ledger::{inclusion_proof, perfect_nodes, root, Checkpoint, Hash, TreeHasher};
use yunjian_gm::{sign_note, LedgerHash, NoteSigner, SoftwareSm2Signer, DEFAULT_DISTID};

const ORIGIN: &str = "test.invalid/audit/sm3";

struct Log {
    lines: Vec<String>,
    leaves: Vec<Hash>,
    signer: SoftwareSm2Signer,
}

fn log(n: usize) -> Log {
    let lines: Vec<String> = (0..n)
        .map(|seq| {
            let mut record = NewAuditRecord::new(
                1_764_000_000_000_000_000 + seq as i64,
                "world.update",
                AuditOutcome::Succeeded,
            );
            record.object_kind = Some("vms".into());
            record.object_id = Some(seq as i64 % 7);
            record.tenant_id = Some(seq as i64 % 3);
            record_line(seq as u64, &record)
        })
        .collect();
    let leaves = lines
        .iter()
        .map(|line| LedgerHash::Sm3.leaf(line.as_bytes()))
        .collect();
    Log {
        lines,
        leaves,
        signer: SoftwareSm2Signer::generate(ORIGIN, DEFAULT_DISTID).expect("key"),
    }
}

fn note(log: &Log, size: usize) -> String {
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: size as u64,
        root: root(&LedgerHash::Sm3, &log.leaves[..size]),
    };
    sign_note(&log.signer, &checkpoint.to_text()).expect("sign")
}

fn subtree(log: &Log, start: u64, end: u64) -> Vec<String> {
    perfect_nodes(start, end)
        .iter()
        .map(|id| {
            let width = 1usize << id.level;
            let first = id.index as usize * width;
            hex::encode(root(&LedgerHash::Sm3, &log.leaves[first..first + width]))
        })
        .collect()
}

fn manifest(scope: Scope, from: u64, to: u64, size: u64) -> Manifest {
    Manifest::new(
        ORIGIN,
        "sm3",
        scope,
        from,
        to,
        size,
        "2026-11-24T00:00:00Z",
        None,
    )
}

/// A range bundle of records [from, to) against the checkpoint of `size`, with the
/// records file passed through `edit` first.
fn range_bundle(
    log: &Log,
    from: usize,
    to: usize,
    size: usize,
    edit: impl Fn(&mut Vec<String>),
) -> Vec<u8> {
    let mut lines: Vec<String> = log.lines[from..to].to_vec();
    edit(&mut lines);
    let mut writer = BundleWriter::new().expect("writer");
    // Sequence order is not enforced here, so tampered bundles can be written.
    let mut out = Vec::new();
    let mut writer_lines = Vec::new();
    for (offset, line) in lines.iter().enumerate() {
        writer_lines.push((offset, line));
    }
    for (offset, line) in writer_lines {
        let leaf = log.leaves.get(from + offset).copied().unwrap_or([0; 32]);
        writer.push(offset as u64, line, &leaf).expect("push");
    }
    let proof = Proof {
        left: subtree(log, 0, from as u64),
        right: subtree(log, to as u64, size as u64),
        inclusion: Vec::new(),
        checkpoints: (from..=to)
            .filter(|n| *n > 0 && n % 5 == 0)
            .map(|n| note(log, n))
            .collect(),
    };
    writer
        .finish(
            manifest(Scope::Range, from as u64, to as u64, size as u64),
            &note(log, size),
            &log.signer.verifier_key().to_text(),
            &proof,
            &mut out,
        )
        .expect("finish");
    out
}

fn verify(bundle: &[u8], log: &Log) -> Result<yunjian_bundle::Verified, VerifyError> {
    verify_bundle(
        bundle,
        Some(&log.signer.verifier_key().to_text()),
        None,
        &|_| {},
    )
}

#[test]
fn intact_bundles_verify_whole_partial_and_empty() {
    let log = log(23);
    for (from, to, size) in [(0, 23, 23), (0, 10, 23), (7, 19, 23), (5, 5, 23), (0, 1, 1)] {
        let verified = verify(&range_bundle(&log, from, to, size, |_| {}), &log)
            .unwrap_or_else(|error| panic!("[{from},{to}) of {size}: {error}"));
        assert_eq!(verified.records, (to - from) as u64);
    }
    // A previous checkpoint inside the range is checked for consistency.
    let bundle = range_bundle(&log, 0, 23, 23, |_| {});
    let earlier = note(&log, 11);
    let verified = verify_bundle(&bundle[..], None, Some(&earlier), &|_| {}).expect("consistent");
    assert_eq!(verified.previous_size, Some(11));
    assert!(verified.key_from_bundle);
}

#[test]
fn a_forged_previous_checkpoint_or_foreign_key_fails() {
    let log = log(12);
    let bundle = range_bundle(&log, 0, 12, 12, |_| {});
    // Signed by the right key over another history.
    let mut rewritten = log.leaves[..6].to_vec();
    rewritten[2] = LedgerHash::Sm3.leaf(b"another record");
    let forged = sign_note(
        &log.signer,
        &Checkpoint {
            origin: ORIGIN.into(),
            size: 6,
            root: root(&LedgerHash::Sm3, &rewritten),
        }
        .to_text(),
    )
    .expect("sign");
    assert!(matches!(
        verify_bundle(&bundle[..], None, Some(&forged), &|_| {}),
        Err(VerifyError::Previous(_))
    ));
    // A verifier trusting another key refuses the bundle's checkpoint.
    let stranger = SoftwareSm2Signer::generate(ORIGIN, DEFAULT_DISTID).expect("key");
    assert!(matches!(
        verify_bundle(
            &bundle[..],
            Some(&stranger.verifier_key().to_text()),
            None,
            &|_| {}
        ),
        Err(VerifyError::Signature(_))
    ));
}

#[test]
fn slices_verify_with_inclusion_proofs_and_name_a_bad_record() {
    let log = log(40);
    let picks = [3usize, 4, 17, 39];
    let build = |edit: &dyn Fn(usize, String) -> String| {
        let mut writer = BundleWriter::new().expect("writer");
        for &seq in &picks {
            writer
                .push(
                    seq as u64,
                    &edit(seq, log.lines[seq].clone()),
                    &log.leaves[seq],
                )
                .expect("push");
        }
        let proof = Proof {
            inclusion: picks
                .iter()
                .map(|&seq| {
                    inclusion_proof(&LedgerHash::Sm3, &log.leaves, seq)
                        .expect("in")
                        .iter()
                        .map(hex::encode)
                        .collect()
                })
                .collect(),
            ..Proof::default()
        };
        let mut out = Vec::new();
        writer
            .finish(
                manifest(Scope::Slice, 0, 40, 40),
                &note(&log, 40),
                &log.signer.verifier_key().to_text(),
                &proof,
                &mut out,
            )
            .expect("finish");
        out
    };
    verify(&build(&|_, line| line), &log).expect("intact slice");
    let bad = build(&|seq, line| {
        if seq == 17 {
            line.replace("world.update", "world.delete")
        } else {
            line
        }
    });
    assert_eq!(
        verify(&bad, &log),
        Err(VerifyError::Altered { seq: 17, line: 3 })
    );
}

#[test]
fn altered_proofs_and_checkpoints_are_named() {
    let log = log(20);
    let bundle = range_bundle(&log, 4, 16, 20, |_| {});
    // Flip one byte inside proof.json's hex (left hashes): records intact, proof altered.
    let text = String::from_utf8_lossy(&bundle).into_owned();
    let at = text.find("{\"left\":[\"").expect("proof.json") + 10;
    let mut altered = bundle.clone();
    altered[at] = if altered[at] == b'a' { b'b' } else { b'a' };
    assert_eq!(verify(&altered, &log), Err(VerifyError::ProofAltered));
    // The checkpoint's size changed: its signature fails.
    let at = text.find(&format!("{ORIGIN}\n20\n")).expect("checkpoint") + ORIGIN.len() + 2;
    let mut altered = bundle.clone();
    altered[at] = b'3';
    assert!(matches!(
        verify(&altered, &log),
        Err(VerifyError::Signature(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Changing, dropping, reordering or inserting any record fails and names it.
    #[test]
    fn any_tampering_with_records_is_detected_and_located(
        n in 2usize..40,
        pick in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        kind in 0u8..4,
    ) {
        let log = log(n);
        let i = pick.index(n);
        let j = other.index(n);
        let bundle = range_bundle(&log, 0, n, n, |lines| match kind {
            0 => lines[i] = lines[i].replace("world.update", "world.create"),
            1 => { lines.remove(i); }
            2 => { let k = if j == i { (i + 1) % lines.len() } else { j }; lines.swap(i, k); }
            _ => { let copy = lines[j].clone(); lines.insert(i, copy); }
        });
        let result = verify(&bundle, &log);
        match kind {
            0 => prop_assert_eq!(result, Err(VerifyError::Altered { seq: i as u64, line: i as u64 + 1 })),
            _ => {
                let Err(VerifyError::Record { line, .. }) = result else {
                    return Err(TestCaseError::fail(format!("kind {kind}: {result:?}")));
                };
                // The first line out of place is at or just after the tampering.
                prop_assert!(line as usize >= 1 && line as usize <= n + 1);
            }
        }
    }
}
