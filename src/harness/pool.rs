//! Which pool of hosts a run uses. An environment may list more
//! server/client pairs than its own (`pools:`), so that shards running at
//! the same time do not share hosts. `--pool N` (or `EBPF_PERF_POOL`) picks
//! pool N by hand; otherwise share K of a `--partition` uses pool K, wrapping
//! around when there are more shares than pools (shares on one pool take
//! turns through the hosts' leases); otherwise the first pair.

use crate::partition::Partition;

/// The pool a run uses (1-based, `None` for the first pair when nothing
/// asked for one) and what the user should know about it.
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    pub pool: Option<usize>,
    pub note: Option<String>,
}

/// Chooses the pool from `--pool`, then the partition, given how many pools
/// the configuration has.
pub fn choose(
    pool: Option<usize>,
    partition: Option<&Partition>,
    pools: usize,
) -> Result<Choice, String> {
    let pools = pools.max(1);
    if let Some(p) = pool {
        if p > pools {
            return Err(format!(
                "--pool {p}: the environments have {pools} pool(s); add pools under \
                 `pools:` in test-env-config.yaml, or pick 1 to {pools}"
            ));
        }
        return Ok(Choice {
            pool: Some(p),
            note: None,
        });
    }
    let Some(part) = partition else {
        return Ok(Choice {
            pool: None,
            note: None,
        });
    };
    let (k, n) = (part.k as usize, part.n as usize);
    let chosen = (k - 1) % pools + 1;
    let sharing: Vec<String> = (1..=n)
        .filter(|&o| o != k && (o - 1) % pools + 1 == chosen)
        .map(|o| o.to_string())
        .collect();
    let note = (!sharing.is_empty()).then(|| {
        format!(
            "--partition {part}: {n} shares on {pools} pool(s), so this share uses pool {chosen} \
             with share(s) {}; shares on one pool take turns (each waits for the other's \
             lease). Add pools under `pools:` to run them at the same time",
            sharing.join(", ")
        )
    });
    Ok(Choice {
        pool: (pools > 1).then_some(chosen),
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::nothing_asked(None, None, 2, None, false)]
    #[case::by_hand(Some(2), None, 2, Some(2), false)]
    #[case::by_hand_wins_over_the_share(Some(1), Some("count:2/2"), 2, Some(1), false)]
    #[case::share_k_uses_pool_k(None, Some("count:2/2"), 2, Some(2), false)]
    #[case::hash_shares_too(None, Some("hash:1/2"), 2, Some(1), false)]
    #[case::more_shares_wrap_and_say_so(None, Some("count:3/3"), 2, Some(1), true)]
    #[case::one_pool_all_shares_take_turns(None, Some("count:2/2"), 1, None, true)]
    fn a_run_uses_the_pool_asked_for_or_its_share(
        #[case] pool: Option<usize>,
        #[case] partition: Option<&str>,
        #[case] pools: usize,
        #[case] want: Option<usize>,
        #[case] noted: bool,
    ) {
        let part: Option<Partition> = partition.map(|p| p.parse().unwrap());
        let c = choose(pool, part.as_ref(), pools).unwrap();
        assert_eq!(c.pool, want);
        assert_eq!(c.note.is_some(), noted, "{:?}", c.note);
    }

    #[test]
    fn a_shared_pool_names_the_shares_it_is_shared_with() {
        let part: Partition = "count:1/5".parse().unwrap();
        let note = choose(None, Some(&part), 2).unwrap().note.unwrap();
        assert!(note.contains("uses pool 1 with share(s) 3, 5"), "{note}");
    }

    #[test]
    fn a_pool_the_config_lacks_is_an_error_that_says_how_many_there_are() {
        let e = choose(Some(3), None, 2).unwrap_err();
        assert!(
            e.contains("--pool 3: the environments have 2 pool(s)"),
            "{e}"
        );
    }
}
