//! Sharding a selection between N CI jobs, in nextest's spelling:
//! `--partition count:K/N` deals the selection's cycles out in turn,
//! `--partition hash:K/N` puts each cycle where a hash of its id says (a
//! shard keeps its cycles when others are added or removed), and
//! `--partition slice:K/N` (nextest 0.9.127) deals them out in turn across
//! the whole selection: with one harness binary, the same shares as
//! `count`.
//!
//! The unit is the cycle, never the trial, so a case's fixtures (its eBPF
//! program, monitors, hooks) are never split between jobs. A shard's
//! baselines are added after partitioning (see
//! [`crate::filter::with_baselines`]), so every shard runs the baselines its
//! eBPF trials are compared with.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Which share of the selection this job runs (K is 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub kind: Kind,
    pub k: u64,
    pub n: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Hash,
    Slice,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--partition takes count:K/N, slice:K/N or hash:K/N with 1 <= K <= N (e.g. count:1/3), not {0:?}")]
pub struct PartitionError(pub String);

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(s: &str) -> Result<Partition, PartitionError> {
        let bad = || PartitionError(s.to_string());
        let (kind, share) = s.split_once(':').ok_or_else(bad)?;
        let kind = match kind {
            "count" => Kind::Count,
            "hash" => Kind::Hash,
            "slice" => Kind::Slice,
            _ => return Err(bad()),
        };
        let (k, n) = share.split_once('/').ok_or_else(bad)?;
        let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { kind, k, n })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Count => "count",
            Kind::Hash => "hash",
            Kind::Slice => "slice",
        };
        write!(f, "{kind}:{}/{}", self.k, self.n)
    }
}

/// The bucket (0-based) of a cycle id under `hash:K/N`: the first 8 bytes of
/// its SHA-256, so that every machine and version agrees.
fn hash_bucket(id: &str, n: u64) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b) % n
}

impl Partition {
    /// The trials of `selected` (in their order) whose cycle falls in this
    /// share; `cycle_of` names a trial's cycle.
    pub fn apply<'a>(&self, selected: &[usize], cycle_of: impl Fn(usize) -> &'a str) -> Vec<usize> {
        let mut seen: Vec<&str> = Vec::new();
        selected
            .iter()
            .copied()
            .filter(|&t| {
                let id = cycle_of(t);
                let bucket = match self.kind {
                    Kind::Hash => hash_bucket(id, self.n),
                    Kind::Count | Kind::Slice => {
                        let pos = match seen.iter().position(|s| *s == id) {
                            Some(p) => p,
                            None => {
                                seen.push(id);
                                seen.len() - 1
                            }
                        };
                        pos as u64 % self.n
                    }
                };
                bucket == self.k - 1
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("count:1/2", Kind::Count, 1, 2)]
    #[case("hash:3/3", Kind::Hash, 3, 3)]
    #[case("slice:2/4", Kind::Slice, 2, 4)]
    fn parses_nextests_spelling(
        #[case] s: &str,
        #[case] kind: Kind,
        #[case] k: u64,
        #[case] n: u64,
    ) {
        let p: Partition = s.parse().unwrap();
        assert_eq!(p, Partition { kind, k, n });
        assert_eq!(p.to_string(), s);
    }

    #[rstest]
    #[case("count:0/2")]
    #[case("count:3/2")]
    #[case("hash:1/0")]
    #[case("slice:0/2")]
    #[case("range:1/2")]
    #[case("count:1")]
    #[case("count:a/2")]
    #[case("1/2")]
    fn refuses_what_is_not_a_share(#[case] s: &str) {
        let e = s.parse::<Partition>().unwrap_err().to_string();
        assert!(
            e.contains("count:K/N, slice:K/N or hash:K/N") && e.contains(s),
            "{e}"
        );
    }

    /// A selection (trial indices in order) and each trial's cycle: trials
    /// of a cycle are contiguous, as in the matrix.
    fn matrices() -> impl Strategy<Value = (Vec<usize>, Vec<String>)> {
        prop::collection::vec(1usize..6, 0..40).prop_flat_map(|sizes| {
            let cycles: Vec<String> = sizes
                .iter()
                .enumerate()
                .flat_map(|(c, &n)| std::iter::repeat_n(format!("tool_{c}_case_{c}_env"), n))
                .collect();
            let len = cycles.len();
            (prop::collection::vec(any::<bool>(), len), Just(cycles)).prop_map(|(keep, cycles)| {
                let sel = (0..cycles.len()).filter(|&i| keep[i]).collect();
                (sel, cycles)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The N shards together are the selection, no trial is in two, and
        /// no cycle is split.
        #[test]
        fn shards_cover_the_selection_once_without_splitting_cycles(
            (sel, cycles) in matrices(),
            n in 1u64..7,
            hash in any::<bool>(),
        ) {
            let kind = if hash { Kind::Hash } else { Kind::Count };
            let mut owner: Vec<Option<u64>> = vec![None; cycles.len()];
            let mut cycle_owner = std::collections::HashMap::new();
            for k in 1..=n {
                let shard = Partition { kind, k, n }.apply(&sel, |t| cycles[t].as_str());
                prop_assert!(shard.windows(2).all(|w| w[0] < w[1]), "order kept");
                for t in shard {
                    prop_assert!(owner[t].is_none(), "trial {} in shards {:?} and {}", t, owner[t], k);
                    owner[t] = Some(k);
                    let c = cycle_owner.entry(cycles[t].clone()).or_insert(k);
                    prop_assert_eq!(*c, k, "cycle {} split", &cycles[t]);
                }
            }
            for &t in &sel {
                prop_assert!(owner[t].is_some(), "trial {} in no shard", t);
            }
            prop_assert_eq!(owner.iter().filter(|o| o.is_some()).count(), sel.len());
        }
    }

    /// `count` and `slice` deal cycles in turn (one binary: the same shares).
    #[rstest]
    fn count_and_slice_deal_cycles_in_turn(#[values(Kind::Count, Kind::Slice)] kind: Kind) {
        let cycles = ["a", "a", "b", "c", "c", "d"];
        let p = |k| Partition { kind, k, n: 2 }.apply(&[0, 1, 2, 3, 4, 5], |t| cycles[t]);
        assert_eq!(p(1), [0, 1, 3, 4]);
        assert_eq!(p(2), [2, 5]);
    }
}
