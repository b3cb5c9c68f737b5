//! The ledger as a store keeps it: every perfect subtree's hash addressed by
//! (level, index), and the frontier (the compact range of the whole log) to append with.
//!
//! A perfect subtree at `level` and `index` covers leaves `[index·2^level,
//! (index+1)·2^level)`; level 0 holds the leaf hashes. Appending a leaf completes at most
//! one node per level; proofs need O(log n) nodes, each either perfect (read from the
//! store) or the hash of a right edge `[a, b)`, which folds the perfect nodes of the
//! range's greedy decomposition from the right (RFC 6962's MTH splits exactly so).

use super::{split, Hash, TreeHasher};

/// A perfect subtree: `level` and `index` at that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

/// The perfect subtrees that make up leaves `[start, end)`, left to right, taking at each
/// step the largest aligned subtree that fits. For the ranges RFC 6962 proofs use (start
/// aligned to a power of two at least the range's size) the sizes strictly decrease, and
/// the range's hash is the right fold of these nodes.
pub fn perfect_nodes(mut start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    while start < end {
        let mut level = if start == 0 {
            63 - (end - start).leading_zeros()
        } else {
            start
                .trailing_zeros()
                .min(63 - (end - start).leading_zeros())
        };
        while start + (1u64 << level) > end {
            level -= 1;
        }
        nodes.push(NodeId {
            level,
            index: start >> level,
        });
        start += 1u64 << level;
    }
    nodes
}

/// A proof described by the nodes it needs: each proof element is the right fold of one
/// list of perfect nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofNodes {
    pub elements: Vec<Vec<NodeId>>,
}

impl ProofNodes {
    /// Every distinct node to fetch.
    pub fn needed(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.elements.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The proof hashes, given a lookup of the needed nodes; `None` names a missing node.
    pub fn assemble<H: TreeHasher + ?Sized>(
        &self,
        hasher: &H,
        lookup: impl Fn(NodeId) -> Option<Hash>,
    ) -> Result<Vec<Hash>, NodeId> {
        self.elements
            .iter()
            .map(|nodes| {
                let mut hashes = Vec::with_capacity(nodes.len());
                for node in nodes {
                    hashes.push(lookup(*node).ok_or(*node)?);
                }
                let mut acc = hashes.pop().expect("a proof element covers a range");
                while let Some(left) = hashes.pop() {
                    acc = hasher.node(&left, &acc);
                }
                Ok(acc)
            })
            .collect()
    }
}

/// The nodes of the inclusion proof of leaf `index` in a tree of `size` leaves
/// (RFC 6962 §2.1.1 PATH), leaf side first. `None` when `index ≥ size`.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Option<ProofNodes> {
    if index >= size {
        return None;
    }
    let mut elements = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split((hi - lo) as usize) as u64;
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    for (start, end) in ranges.into_iter().rev() {
        elements.push(perfect_nodes(start, end));
    }
    Some(ProofNodes { elements })
}

/// The nodes of the consistency proof from `old_size` to `size` (RFC 6962 §2.1.2).
/// `None` when `old_size` is 0 or larger than `size`.
pub fn consistency_proof_nodes(old_size: u64, size: u64) -> Option<ProofNodes> {
    if old_size == 0 || old_size > size {
        return None;
    }
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut m, mut complete) = (0u64, size, old_size, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split(n as usize) as u64;
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    let elements = ranges
        .into_iter()
        .rev()
        .map(|(start, end)| perfect_nodes(start, end))
        .collect();
    Some(ProofNodes { elements })
}

/// The compact range `[0, size)`: the hashes of the perfect subtrees of the size's binary
/// decomposition, largest (leftmost) first. Appending is a binary-counter increment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// From stored parts; `None` when the hash count does not match the size's bits.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Frontier> {
        (hashes.len() == size.count_ones() as usize).then_some(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The nodes of the frontier, left to right.
    pub fn node_ids(&self) -> Vec<NodeId> {
        perfect_nodes(0, self.size)
    }

    /// Appends a leaf hash; calls `completed` with every interior node (level ≥ 1) the
    /// leaf completes, lowest first.
    pub fn push<H: TreeHasher + ?Sized>(
        &mut self,
        hasher: &H,
        leaf: Hash,
        mut completed: impl FnMut(NodeId, Hash),
    ) {
        self.push_node(hasher, 0, leaf, &mut completed);
    }

    /// Appends a leaf hash, taking any interior node `known` already has (computed
    /// elsewhere from the same leaves, e.g. by another thread) instead of hashing it.
    /// Nodes are asked for in completion order.
    pub fn push_known<H: TreeHasher + ?Sized>(
        &mut self,
        hasher: &H,
        leaf: Hash,
        mut known: impl FnMut(NodeId) -> Option<Hash>,
    ) {
        let mut hash = leaf;
        let mut level = 0;
        let mut index = self.size;
        while index & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has a frontier hash");
            level += 1;
            index >>= 1;
            hash = known(NodeId { level, index }).unwrap_or_else(|| hasher.node(&left, &hash));
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// Appends a perfect subtree of `level`; the size must be a multiple of its width.
    pub fn push_node<H: TreeHasher + ?Sized>(
        &mut self,
        hasher: &H,
        level: u32,
        hash: Hash,
        completed: &mut impl FnMut(NodeId, Hash),
    ) {
        debug_assert_eq!(self.size % (1u64 << level), 0, "unaligned subtree");
        let width = 1u64 << level;
        let mut hash = hash;
        let mut level = level;
        let mut index = self.size >> level;
        while index & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has a frontier hash");
            hash = hasher.node(&left, &hash);
            level += 1;
            index >>= 1;
            completed(NodeId { level, index }, hash);
        }
        self.hashes.push(hash);
        self.size += width;
    }

    /// The tree head of `[0, size)`.
    pub fn root<H: TreeHasher + ?Sized>(&self, hasher: &H) -> Hash {
        let mut hashes = self.hashes.iter().rev();
        let Some(last) = hashes.next() else {
            return hasher.empty_root();
        };
        hashes.fold(*last, |acc, left| hasher.node(left, &acc))
    }
}

/// Every interior node (level ≥ 1) lying wholly inside the leaves `[start, start +
/// leaves.len())`, computed from those leaves alone: a range can be hashed in parallel
/// pieces and the pieces joined with [`Frontier::push_known`].
pub fn interior_nodes<H: TreeHasher + ?Sized>(
    hasher: &H,
    start: u64,
    leaves: &[Hash],
) -> Vec<(NodeId, Hash)> {
    let mut out = Vec::with_capacity(leaves.len());
    // A stack of perfect subtrees, left to right; a node merges with its left sibling
    // when both are on the stack.
    let mut stack: Vec<(NodeId, Hash)> = Vec::new();
    for (offset, leaf) in leaves.iter().enumerate() {
        let mut node = (
            NodeId {
                level: 0,
                index: start + offset as u64,
            },
            *leaf,
        );
        while node.0.index & 1 == 1 {
            match stack.last() {
                Some((left, _)) if left.level == node.0.level && left.index + 1 == node.0.index => {
                    let (_, left_hash) = stack.pop().expect("just seen");
                    node = (
                        NodeId {
                            level: node.0.level + 1,
                            index: node.0.index >> 1,
                        },
                        hasher.node(&left_hash, &node.1),
                    );
                    out.push(node);
                }
                _ => break,
            }
        }
        stack.push(node);
    }
    out
}
