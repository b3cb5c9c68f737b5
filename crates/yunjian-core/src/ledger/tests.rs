//! The ledger's tree against published vectors: the RFC 6962 hasher vectors and every
//! transparency-dev/merkle inclusion and consistency case (SHA-256, positive and
//! negative, read from ../shared/fixtures/merkle), and the SM3 vectors of
//! ../shared/spec/ledger-test-vectors.md; then property tests that prover and verifier
//! agree and that any tampering fails.

use std::path::{Path, PathBuf};

use base64::Engine;
use proptest::prelude::*;
use sha2::Digest as _;

use super::{
    consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion, Hash,
    ProofError, TreeHasher,
};

struct Sha256;
impl TreeHasher for Sha256 {
    fn digest(&self, parts: &[&[u8]]) -> Hash {
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}

struct Sm3;
impl TreeHasher for Sm3 {
    fn digest(&self, parts: &[&[u8]]) -> Hash {
        let mut hasher = sm3::Sm3::new();
        for part in parts {
            sm3::Digest::update(&mut hasher, part);
        }
        sm3::Digest::finalize(hasher).into()
    }
}

/// The eight reference leaves of RFC 6962's test suites.
fn reference_leaves() -> Vec<Vec<u8>> {
    [
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
    .collect()
}

fn leaf_hashes(hasher: &dyn TreeHasher, leaves: &[Vec<u8>]) -> Vec<Hash> {
    leaves.iter().map(|leaf| hasher.leaf(leaf)).collect()
}

#[test]
fn sha256_hasher_matches_the_rfc6962_vectors() {
    assert_eq!(
        hex::encode(Sha256.empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex::encode(Sha256.leaf(b"")),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    let leaf = hex::encode(Sha256.leaf(b"L123456"));
    assert!(
        leaf.starts_with("395aa064") && leaf.ends_with("4d56"),
        "{leaf}"
    );
    let node = hex::encode(Sha256.digest(&[&[1], b"N123", b"N456"]));
    assert!(
        node.starts_with("aa217fe8") && node.ends_with("6bbb"),
        "{node}"
    );
    let root8 = hex::encode(root(&Sha256, &leaf_hashes(&Sha256, &reference_leaves())));
    assert!(
        root8.starts_with("5dc9da79") && root8.ends_with("4328"),
        "{root8}"
    );
}

#[test]
fn sm3_tree_matches_the_derived_vectors() {
    assert_eq!(
        hex::encode(Sm3.leaf(b"L123456")),
        "b62d3c1e4d175631cb0e267ac43f4fe7d45ab328085a0a0841a5dd99d72665be"
    );
    assert_eq!(
        hex::encode(Sm3.digest(&[&[1], b"N123", b"N456"])),
        "ceaddc3c5fbab603a1aa11181127a75c34acfd1a0bcd1ac67e3fa9ed55a5d5b6"
    );
    let hashes = leaf_hashes(&Sm3, &reference_leaves());
    let expected = [
        "2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf",
        "0b990fe0c7ad70f1bf1a1262f2c7908ea48146b14253a6db99f2917ab1f5cc4d",
        "209ec96a210d662a964772680e8544d18cab7b88ffec3e00962220349b56ea56",
        "28e4e307ef6d2d0c62d84b11ef96e835efe490f35b93c8f024ecfe38c8dd4377",
        "bb10c996aeebbcdc69be3715fc847344de77442d37a5ab8213da9f41785b103b",
        "8723c1ab1f82ddfba4a3733ac0c80d936d9f4c208c7dbc8cc81ca9fff8584f66",
        "bd36c22a1ac6ff4308e0c3cc1a85bf0ffa30538ec60a55c70413ab15d45db4d2",
        "bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38",
    ];
    for (size, want) in expected.iter().enumerate() {
        assert_eq!(
            hex::encode(root(&Sm3, &hashes[..=size])),
            *want,
            "size {}",
            size + 1
        );
    }
    let proof = hex_all(&inclusion_proof(&Sm3, &hashes, 0).expect("proof"));
    assert_eq!(
        proof,
        [
            "af83a966222057ac761246a7543c580d9111014f4e5e3cb1281db33151160335",
            "2489bde054a243baddcdf4fca1bae37cc910a6d9d85fdb9e1a826d7fc114f9a8",
            "2064aa35c6f2961ab1667c4418188b13a7b2510104f71febbb67f19419cf8168"
        ]
    );
    let proof = hex_all(&inclusion_proof(&Sm3, &hashes, 5).expect("proof"));
    assert_eq!(
        proof[1],
        "155f6ed4ccfa83510c9416c99b48f41aa5b12e443546bee1b501a7b281e5132a"
    );
    assert!(proof[0].starts_with("a798bfdb") && proof[2].starts_with("28e4e307"));
    let proof = hex_all(&consistency_proof(&Sm3, &hashes, 6).expect("proof"));
    assert_eq!(
        proof[0],
        "6f5566cd4dfab1605e73be3ce132f38de996be0094142731e1eb2ab2e001daca"
    );
    assert!(proof[1].starts_with("155f6ed4") && proof[2].starts_with("28e4e307"));
}

fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// The shared fixtures: `YUNJIAN_SHARED_DIR`, or `shared/` beside the checkout (where CI
/// and every workplace machine keep it).
fn fixtures() -> PathBuf {
    let shared = std::env::var_os("YUNJIAN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
                .join("../../../shared")
        });
    let dir = shared.join("fixtures/merkle/testdata");
    assert!(
        dir.exists(),
        "the shared fixtures are missing at {} (set YUNJIAN_SHARED_DIR to the shared/ folder)",
        dir.display()
    );
    dir
}

fn json_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            found.push(path);
        }
    }
}

/// Every JSON case under a fixture folder, with its path for messages.
fn cases(folder: &str) -> Vec<(PathBuf, serde_json::Value)> {
    let mut files = Vec::new();
    json_files(&fixtures().join(folder), &mut files);
    assert!(files.len() > 40, "{} {folder} vectors", files.len());
    files
        .into_iter()
        .map(|file| {
            let case =
                serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
            (file, case)
        })
        .collect()
}

fn b64(value: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap_or(""))
        .expect("base64 in fixture")
}

/// Proof elements of the wrong length make the proof invalid rather than the test panic.
fn proof_of(value: &serde_json::Value) -> Option<Vec<Hash>> {
    match value.as_array() {
        None => Some(Vec::new()),
        Some(items) => items
            .iter()
            .map(|item| Hash::try_from(b64(item)).ok())
            .collect(),
    }
}

#[test]
fn every_transparency_dev_inclusion_vector_gives_the_expected_verdict() {
    for (file, case) in cases("inclusion") {
        let want_error = case["wantErr"].as_bool().expect("wantErr");
        let leaf = Hash::try_from(b64(&case["leafHash"])).ok();
        let result = match (leaf, proof_of(&case["proof"])) {
            (Some(leaf), Some(proof)) => verify_inclusion(
                &Sha256,
                case["leafIdx"].as_u64().expect("leafIdx"),
                case["treeSize"].as_u64().expect("treeSize"),
                &leaf,
                &proof,
                &b64(&case["root"]),
            ),
            _ => Err(ProofError::WrongLength),
        };
        assert_eq!(
            result.is_err(),
            want_error,
            "{}: {result:?}",
            file.display()
        );
    }
}

#[test]
fn every_transparency_dev_consistency_vector_gives_the_expected_verdict() {
    for (file, case) in cases("consistency") {
        let want_error = case["wantErr"].as_bool().expect("wantErr");
        let result = match proof_of(&case["proof"]) {
            Some(proof) => verify_consistency(
                &Sha256,
                case["size1"].as_u64().expect("size1"),
                case["size2"].as_u64().expect("size2"),
                &b64(&case["root1"]),
                &b64(&case["root2"]),
                &proof,
            ),
            None => Err(ProofError::WrongLength),
        };
        assert_eq!(
            result.is_err(),
            want_error,
            "{}: {result:?}",
            file.display()
        );
    }
}

#[test]
fn the_prover_reproduces_the_happy_path_vectors() {
    let hashes = leaf_hashes(&Sha256, &reference_leaves());
    let mut checked = 0;
    for (file, case) in cases("inclusion")
        .into_iter()
        .filter(|(file, _)| file.ends_with("happy-path.json"))
    {
        let size = case["treeSize"].as_u64().expect("size") as usize;
        let index = case["leafIdx"].as_u64().expect("index") as usize;
        if size > hashes.len() || Hash::try_from(b64(&case["leafHash"])).ok() != Some(hashes[index])
        {
            continue;
        }
        let proof = inclusion_proof(&Sha256, &hashes[..size], index).expect("proof");
        assert_eq!(Some(proof), proof_of(&case["proof"]), "{}", file.display());
        assert_eq!(root(&Sha256, &hashes[..size]).to_vec(), b64(&case["root"]));
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} happy paths checked");
}

fn arbitrary_leaves() -> impl Strategy<Value = Vec<Hash>> {
    proptest::collection::vec(any::<[u8; 32]>(), 1..48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every inclusion proof the prover makes verifies, and fails for another leaf, a
    /// flipped bit or a dropped element.
    #[test]
    fn inclusion_proofs_verify_and_tampering_fails(leaves in arbitrary_leaves(), pick in any::<prop::sample::Index>(), bit in 0usize..256) {
        let head = root(&Sm3, &leaves);
        let size = leaves.len() as u64;
        let index = pick.index(leaves.len());
        let proof = inclusion_proof(&Sm3, &leaves, index).expect("proof");
        prop_assert_eq!(verify_inclusion(&Sm3, index as u64, size, &leaves[index], &proof, &head), Ok(()));
        let mut other = leaves[index];
        other[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&Sm3, index as u64, size, &other, &proof, &head).is_err());
        if !proof.is_empty() {
            let mut flipped = proof.clone();
            flipped[0][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&Sm3, index as u64, size, &leaves[index], &flipped, &head).is_err());
            prop_assert!(verify_inclusion(&Sm3, index as u64, size, &leaves[index], &proof[1..], &head).is_err());
        }
        prop_assert!(verify_inclusion(&Sm3, size, size, &leaves[index], &proof, &head).is_err());
    }

    /// Every consistency proof verifies between every older size and the current one,
    /// and fails when any leaf of the old tree was changed.
    #[test]
    fn consistency_proofs_verify_and_rewritten_history_fails(leaves in arbitrary_leaves(), pick in any::<prop::sample::Index>()) {
        let size2 = leaves.len();
        let size1 = pick.index(size2) + 1;
        let root1 = root(&Sm3, &leaves[..size1]);
        let root2 = root(&Sm3, &leaves);
        let proof = consistency_proof(&Sm3, &leaves, size1).expect("proof");
        prop_assert_eq!(verify_consistency(&Sm3, size1 as u64, size2 as u64, &root1, &root2, &proof), Ok(()));
        let mut rewritten = leaves.clone();
        rewritten[size1 - 1][0] ^= 0x80;
        let forged_root1 = root(&Sm3, &rewritten[..size1]);
        prop_assert!(verify_consistency(&Sm3, size1 as u64, size2 as u64, &forged_root1, &root2, &proof).is_err());
    }
}

mod stored_tree {
    //! The store's way of keeping the tree (frontier plus perfect nodes) gives the same
    //! heads and proofs as the reference definitions.

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::Sm3;
    use crate::ledger::{
        consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes,
        interior_nodes, perfect_nodes, root, Checkpoint, Frontier, Hash, NodeId, TreeHasher,
    };

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| Sm3.leaf(&(i as u64).to_be_bytes()))
            .collect()
    }

    /// Appends every leaf, collecting each node the frontier reports complete.
    fn build(leaves: &[Hash]) -> (Frontier, HashMap<NodeId, Hash>) {
        let mut frontier = Frontier::new();
        let mut nodes = HashMap::new();
        for (index, leaf) in leaves.iter().enumerate() {
            nodes.insert(
                NodeId {
                    level: 0,
                    index: index as u64,
                },
                *leaf,
            );
            frontier.push(&Sm3, *leaf, |id, hash| {
                assert!(nodes.insert(id, hash).is_none(), "{id:?} completed twice");
            });
        }
        (frontier, nodes)
    }

    #[test]
    fn perfect_nodes_decompose_ranges() {
        assert_eq!(perfect_nodes(0, 0), vec![]);
        assert_eq!(
            perfect_nodes(0, 13),
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                }
            ]
        );
        assert_eq!(
            perfect_nodes(6, 16),
            vec![NodeId { level: 1, index: 3 }, NodeId { level: 3, index: 1 }]
        );
    }

    #[test]
    fn checkpoints_round_trip_and_refuse_garbage() {
        let checkpoint = Checkpoint {
            origin: "yunjian/audit/sm3".into(),
            size: 12,
            root: [7; 32],
        };
        let text = checkpoint.to_text();
        assert_eq!(Checkpoint::parse(&text), Ok(checkpoint.clone()));
        assert_eq!(Checkpoint::parse(&format!("{text}ext\n")), Ok(checkpoint));
        for bad in [
            "",
            "a\n1\n",
            "a\n01\nBwcH\n",
            "a\n-1\nAA==\n",
            "\n1\nAA==\n",
            &text.replace('\n', ""),
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn frontier_heads_and_nodes_match_the_definitions(n in 0usize..200) {
            let leaves = leaves(n);
            let (frontier, nodes) = build(&leaves);
            prop_assert_eq!(frontier.root(&Sm3), root(&Sm3, &leaves));
            prop_assert_eq!(frontier.size(), n as u64);
            // Every perfect subtree is known and right; no other node was reported.
            let mut expected = 0;
            for level in 0..9u32 {
                let width = 1usize << level;
                for index in 0..n / width {
                    let hash = root(&Sm3, &leaves[index * width..(index + 1) * width]);
                    prop_assert_eq!(nodes.get(&NodeId { level, index: index as u64 }), Some(&hash));
                    expected += 1;
                }
            }
            prop_assert_eq!(nodes.len(), expected);
            let restored = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec());
            prop_assert_eq!(restored.as_ref(), Some(&frontier));
        }

        /// Pieces hashed apart and joined give the same tree as hashing in one go.
        #[test]
        fn interior_nodes_of_pieces_join_into_the_same_tree(n in 1usize..300, cut in 0usize..300, from in 0usize..40) {
            let all = leaves(n + from);
            let (_, nodes) = build(&all);
            let cut = cut % (n + 1);
            let (a, b) = all[from..].split_at(cut);
            let mut known: HashMap<NodeId, Hash> = HashMap::new();
            for (id, hash) in interior_nodes(&Sm3, from as u64, a).into_iter().chain(interior_nodes(&Sm3, (from + cut) as u64, b)) {
                prop_assert_eq!(nodes.get(&id), Some(&hash), "{:?}", id);
                known.insert(id, hash);
            }
            let (mut frontier, _) = build(&all[..from]);
            for leaf in &all[from..] {
                frontier.push_known(&Sm3, *leaf, |id| known.get(&id).copied());
            }
            prop_assert_eq!(frontier.root(&Sm3), root(&Sm3, &all));
        }

        #[test]
        fn node_proofs_match_the_definitions(n in 1usize..150, index in 0usize..150, old in 1usize..150) {
            let leaves = leaves(n);
            let (_, nodes) = build(&leaves);
            let lookup = |id: NodeId| nodes.get(&id).copied();
            let index = index % n;
            let plan = inclusion_proof_nodes(index as u64, n as u64).expect("in range");
            prop_assert_eq!(
                plan.assemble(&Sm3, lookup).expect("all nodes stored"),
                inclusion_proof(&Sm3, &leaves, index).expect("in range")
            );
            let old = 1 + (old - 1) % n;
            let plan = consistency_proof_nodes(old as u64, n as u64).expect("in range");
            prop_assert_eq!(
                plan.assemble(&Sm3, lookup).expect("all nodes stored"),
                consistency_proof(&Sm3, &leaves, old).expect("in range")
            );
            prop_assert!(inclusion_proof_nodes(n as u64, n as u64).is_none());
            prop_assert!(consistency_proof_nodes(0, n as u64).is_none());
        }
    }
}
