//! The audit ledger's Merkle tree, in the RFC 6962 / RFC 9162 shape: leaf hash
//! `H(0x00 ‖ leaf)`, interior node `H(0x01 ‖ left ‖ right)`, the empty tree `H("")`.
//!
//! Pure: the hash function comes in as a [`TreeHasher`] (SM3 by default, SHA-256 so the
//! tree can be checked against the RFC 6962 vectors; `yunjian-gm` provides both). This
//! module holds the reference algorithms: the tree head and proofs computed from leaf
//! hashes (the definitions of RFC 6962 §2.1, used by tests and small exports), and the
//! proof verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2, which the offline verifier runs.

mod checkpoint;
mod frontier;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use frontier::{
    consistency_proof_nodes, inclusion_proof_nodes, interior_nodes, perfect_nodes, Frontier,
    NodeId, ProofNodes,
};

/// A 256-bit hash (SM3 and SHA-256 alike).
pub type Hash = [u8; 32];

/// The hash function of a ledger.
pub trait TreeHasher {
    /// H(parts[0] ‖ parts[1] ‖ …).
    fn digest(&self, parts: &[&[u8]]) -> Hash;

    fn empty_root(&self) -> Hash {
        self.digest(&[])
    }

    fn leaf(&self, leaf: &[u8]) -> Hash {
        self.digest(&[&[0x00], leaf])
    }

    fn node(&self, left: &Hash, right: &Hash) -> Hash {
        self.digest(&[&[0x01], left, right])
    }
}

/// Why a proof does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// The index is not inside the tree, or the sizes are out of order or zero.
    BadIndexOrSize,
    /// The proof has the wrong number of hashes for these sizes.
    WrongLength,
    /// The proof computes another root.
    RootMismatch,
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash of a list of leaf hashes (RFC 6962 §2.1, MTH).
pub fn root<H: TreeHasher + ?Sized>(hasher: &H, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => hasher.empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            hasher.node(&root(hasher, &leaves[..k]), &root(hasher, &leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 6962 §2.1.1, PATH), leaf-side first.
pub fn inclusion_proof<H: TreeHasher + ?Sized>(
    hasher: &H,
    leaves: &[Hash],
    index: usize,
) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    path(hasher, index, leaves, &mut proof);
    Some(proof)
}

fn path<H: TreeHasher + ?Sized>(hasher: &H, index: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path(hasher, index, &leaves[..k], proof);
        proof.push(root(hasher, &leaves[k..]));
    } else {
        path(hasher, index - k, &leaves[k..], proof);
        proof.push(root(hasher, &leaves[..k]));
    }
}

/// The consistency proof between the first `old_size` leaves and all of them (RFC 6962
/// §2.1.2, PROOF). `None` when `old_size` is 0 or larger than the tree.
pub fn consistency_proof<H: TreeHasher + ?Sized>(
    hasher: &H,
    leaves: &[Hash],
    old_size: usize,
) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    subproof(hasher, old_size, leaves, true, &mut proof);
    Some(proof)
}

fn subproof<H: TreeHasher + ?Sized>(
    hasher: &H,
    m: usize,
    leaves: &[Hash],
    complete: bool,
    proof: &mut Vec<Hash>,
) {
    let n = leaves.len();
    if m == n {
        if !complete {
            proof.push(root(hasher, leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(hasher, m, &leaves[..k], complete, proof);
        proof.push(root(hasher, &leaves[k..]));
    } else {
        subproof(hasher, m - k, &leaves[k..], false, proof);
        proof.push(root(hasher, &leaves[..k]));
    }
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with head
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion<H: TreeHasher + ?Sized>(
    hasher: &H,
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::BadIndexOrSize);
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = hasher.node(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = hasher.node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if r.as_slice() != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with head `root2` extends the tree of
/// `size1` leaves with head `root1` (RFC 9162 §2.1.4.2). As in the reference verifier, a
/// proof from an empty tree never verifies, and equal sizes need an empty proof and equal
/// heads.
pub fn verify_consistency<H: TreeHasher + ?Sized>(
    hasher: &H,
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size2 < size1 || size1 == 0 {
        return Err(ProofError::BadIndexOrSize);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        let Ok(first) = <Hash>::try_from(root1) else {
            return Err(ProofError::RootMismatch);
        };
        path.push(first);
    }
    path.extend_from_slice(proof);
    let mut f_n = size1 - 1;
    let mut s_n = size2 - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = path[0];
    let mut s_r = path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = hasher.node(c, &f_r);
            s_r = hasher.node(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = hasher.node(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if f_r.as_slice() != root1 || s_r.as_slice() != root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
