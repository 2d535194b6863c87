//! Trial selection (docs/design.md §4): every positional term must match (AND); a term
//! matches where it occurs on token boundaries, tokens being separated by `::`
//! and `_`. `--exact` compares whole names (any listed name is selected);
//! `--skip` drops names matched by the same rule; `--tool` keeps the trials
//! of the tools named (by key or `id:`, see [`resolve_tools`]), `--env` the
//! trials of the environments named. A selection
//! is the matrix's trials a filter matches, plus the baselines they are
//! compared with.

use crate::matrix::Matrix;
use std::collections::HashMap;

/// What the user asked to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub terms: Vec<String>,
    pub skip: Vec<String>,
    pub exact: bool,
    /// `--tool`: as given, then (after [`resolve_tools`]) tools-file keys.
    pub tools: Vec<String>,
    /// `--env`: the environments whose trials are kept (all when empty).
    pub envs: Vec<String>,
}

/// The environment of a trial name (`baseline::ENV::…`, `KEY::case_N::ENV::…`).
fn env_of(name: &str) -> Option<&str> {
    let mut parts = name.split("::");
    let first = parts.next()?;
    if first != "baseline" {
        parts.next()?;
    }
    parts.next()
}

/// `--tool` names made tools-file keys: a key stays, an `id:` becomes the
/// key of every tool with that id. An error names what matched nothing,
/// with the tools there are.
pub fn resolve_tools(cfg: &crate::config::Config, given: &[String]) -> Result<Vec<String>, String> {
    let mut keys: Vec<String> = Vec::new();
    for g in given {
        let found: Vec<&String> = cfg
            .tools
            .iter()
            .filter(|(key, t)| *key == g || t.program.as_deref() == Some(g.as_str()))
            .map(|(key, _)| key)
            .collect();
        if found.is_empty() {
            let known: Vec<String> = cfg
                .tools
                .iter()
                .map(|(key, t)| match &t.program {
                    Some(id) => format!("{key} ({id})"),
                    None => key.clone(),
                })
                .collect();
            return Err(format!(
                "--tool {g}: no tool has that key or id in {}; the tools are: {}",
                cfg.dir.join(crate::config::TOOLS_FILE).display(),
                known.join(", ")
            ));
        }
        for k in found {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    Ok(keys)
}

/// `--env` names checked against the configuration's environments; an
/// error names the unknown one, with the environments there are.
pub fn check_envs(cfg: &crate::config::Config, given: &[String]) -> Result<(), String> {
    match given.iter().find(|g| !cfg.environments.contains_key(*g)) {
        None => Ok(()),
        Some(g) => Err(format!(
            "--env {g}: no environment has that name in {}; the environments are: {}",
            cfg.dir.join(crate::config::ENV_FILE).display(),
            cfg.environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

impl Filter {
    pub fn matches(&self, name: &str) -> bool {
        // A tool's trials are named `KEY::case_N::...`.
        if !self.tools.is_empty()
            && !self.tools.iter().any(|t| {
                name.strip_prefix(t.as_str())
                    .is_some_and(|r| r.starts_with("::"))
            })
        {
            return false;
        }
        if !self.envs.is_empty() && !env_of(name).is_some_and(|e| self.envs.iter().any(|x| x == e))
        {
            return false;
        }
        let hit = |t: &String| {
            if self.exact {
                name == t
            } else {
                term_matches(name, t)
            }
        };
        let selected = if self.terms.is_empty() {
            true
        } else if self.exact {
            self.terms.iter().any(hit)
        } else {
            self.terms.iter().all(hit)
        };
        selected && !self.skip.iter().any(hit)
    }
}

fn is_sep_before(name: &str, at: usize) -> bool {
    at == 0 || name[..at].ends_with('_') || name[..at].ends_with("::")
}

fn is_sep_after(name: &str, at: usize) -> bool {
    at == name.len() || name[at..].starts_with('_') || name[at..].starts_with("::")
}

/// Does `term` occur in `name` starting and ending on token boundaries?
pub fn term_matches(name: &str, term: &str) -> bool {
    if term.is_empty() {
        return true;
    }
    name.match_indices(term)
        .any(|(at, _)| is_sep_before(name, at) && is_sep_after(name, at + term.len()))
}

/// Indices of the trials the filter selects, in matrix order.
pub fn select(matrix: &Matrix, filter: &Filter) -> Vec<usize> {
    (0..matrix.trials.len())
        .filter(|&i| filter.matches(&matrix.trials[i].name))
        .collect()
}

/// The selection plus the baseline trials its eBPF trials are compared with
/// (same environment and variant), unless `have` already holds them; in
/// matrix order, so baselines run first. The second value counts the added.
pub fn with_baselines(
    matrix: &Matrix,
    selected: &[usize],
    have: impl Fn(&str) -> bool,
) -> (Vec<usize>, usize) {
    // The pairing key: environment, test type, variant (pps and throughput
    // both have a multi_2_tcp).
    let key = |env: &str, v: &crate::domain::Variant| crate::naming::trial_name(None, env, v);
    let mut baseline_of: HashMap<String, usize> = HashMap::new();
    for c in matrix.cycles.iter().filter(|c| c.is_baseline()) {
        for i in c.trials.clone() {
            baseline_of.insert(key(&c.env, &matrix.trials[i].variant), i);
        }
    }
    let mut out: Vec<usize> = selected.to_vec();
    for &i in selected {
        let t = &matrix.trials[i];
        let c = matrix.cycle_of(t);
        if c.is_baseline() {
            continue;
        }
        if let Some(&b) = baseline_of.get(&key(&c.env, &t.variant)) {
            if !have(&matrix.trials[b].name) {
                out.push(b);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    let added = out.len() - selected.len();
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("tool_001::case_1::host::latency::tcp_rr", "case_1", true)]
    #[case("tool_001::case_15::vm::latency::tcp_rr", "case_1", false)]
    #[case("tool_001::case_15::vm::latency::tcp_rr", "case_15", true)]
    #[case("baseline::host::throughput::single_tcp_10G", "1G", false)]
    #[case("baseline::host::throughput::single_tcp_1G", "1G", true)]
    #[case("baseline::host::throughput::single_tcp_1G", "tcp", true)]
    #[case("baseline::host::throughput::single_tcp_1G", "host::throughput", true)]
    #[case("baseline::host::latency::udp_rr", "host::latency", true)]
    #[case("baseline::host::latency::udp_rr", "ost", false)]
    #[case("baseline::vmhost::latency::udp_rr", "host", false)]
    #[case("tool_002::case_5::host::pps::multi_8_udp", "multi_8", true)]
    #[case("tool_002::case_5::host::pps::multi_8_udp", "8_udp", true)]
    #[case("tool_002::case_5::host::pps::multi_8_udp", "tool_002::case_5", true)]
    #[case("tool_002::case_5::host::pps::multi_8_udp", "2::case", false)]
    #[case(
        "tool_002::case_5::host::pps::multi_8_udp",
        "tool_002::case_5::host::pps::multi_8_udp",
        true
    )]
    fn token_boundaries(#[case] name: &str, #[case] term: &str, #[case] want: bool) {
        assert_eq!(term_matches(name, term), want, "{term} in {name}");
    }

    fn f(terms: &[&str], skip: &[&str], exact: bool) -> Filter {
        Filter {
            terms: terms.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
            exact,
            tools: Vec::new(),
            envs: Vec::new(),
        }
    }

    fn tools(tools: &[&str], terms: &[&str]) -> Filter {
        Filter {
            tools: tools.iter().map(|s| s.to_string()).collect(),
            ..f(terms, &[], false)
        }
    }

    const N: &str = "tool_002::case_5::host::throughput::multi_4_tcp";

    #[rstest]
    #[case(f(&[], &[], false), true)]
    #[case(f(&["case_5", "host", "throughput"], &[], false), true)]
    #[case(f(&["case_5", "vm"], &[], false), false)]
    #[case(f(&["case_5"], &["tcp"], false), false)]
    #[case(f(&["case_5"], &["udp"], false), true)]
    #[case(f(&["case_5"], &[], true), false)]
    #[case(f(&[N], &[], true), true)]
    #[case(f(&["other", N], &[], true), true)]
    #[case(f(&[N], &[N], true), false)]
    #[case(f(&[], &["multi_4"], true), true)]
    #[case(tools(&["tool_002"], &[]), true)]
    #[case(tools(&["tool_001", "tool_002"], &["case_5"]), true)]
    #[case(tools(&["tool_002"], &["vm"]), false)]
    #[case(tools(&["tool_00"], &[]), false)]
    #[case(tools(&["tool_001"], &[]), false)]
    #[case(Filter { envs: vec!["host".into()], ..f(&[], &[], false) }, true)]
    #[case(Filter { envs: vec!["vm".into(), "host".into()], ..f(&["case_5"], &[], false) }, true)]
    #[case(Filter { envs: vec!["vm".into()], ..f(&[], &[], false) }, false)]
    // An environment is a whole name segment in its place, not a term.
    #[case(Filter { envs: vec!["throughput".into()], ..f(&[], &[], false) }, false)]
    fn filters(#[case] filter: Filter, #[case] want: bool) {
        assert_eq!(filter.matches(N), want, "{filter:?}");
    }

    #[test]
    fn baselines_have_their_environment_second() {
        let f = Filter {
            envs: vec!["vm".into()],
            ..Default::default()
        };
        assert!(f.matches("baseline::vm::latency::tcp_rr"));
        assert!(!f.matches("baseline::host::latency::tcp_rr"));
    }
}
