//! The one place that knows the naming and path rules of docs/design.md §4
//! and §6: which identifiers are safe as path segments, how variants, trials and
//! cycles are named, how the remote result tree is laid out, what `hash6` is,
//! and how timestamps are written.

use crate::domain::{TestType, Variant};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

/// Root of all results under a host's workdir.
pub const RESULTS_DIR: &str = "performance-test-results";

/// The lab's addresses: 198.18.0.0/15, reserved for benchmarking (RFC 2544).
pub const LAB_RANGE: &str = "198.18.0.0/15";

/// Is `host` an IPv4 address inside [`LAB_RANGE`]?
pub fn in_lab_range(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.octets()[0] == 198 && matches!(ip.octets()[1], 18 | 19))
}

/// Separator between the parts of a trial name.
pub const NAME_SEP: &str = "::";

/// Why an identifier cannot be used as a path segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeId {
    #[error("is empty")]
    Empty,
    #[error("is `.` or `..`, which are not directory names")]
    Dots,
    #[error("contains {0:?}; only letters, digits, `_`, `.` and `-` are allowed")]
    BadChar(char),
}

/// Checks that `id` is safe as a single path segment: `[A-Za-z0-9_.-]+`,
/// and neither `.` nor `..` nor containing `..`.
pub fn check_safe_id(id: &str) -> Result<(), UnsafeId> {
    if id.is_empty() {
        return Err(UnsafeId::Empty);
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(UnsafeId::BadChar(c));
    }
    if id.contains("..") || id == "." {
        return Err(UnsafeId::Dots);
    }
    Ok(())
}

/// Identity of an eBPF case inside the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseKey<'a> {
    pub tool_id: &'a str,
    pub case_id: u32,
    pub protocol: Option<&'a str>,
    pub direction: Option<&'a str>,
    /// The case's parameters in canonical order (see [`canonical_params`]).
    pub canonical_params: &'a str,
}

/// Written in paths where a case sets no protocol or direction.
pub const UNSET_PARAM: &str = "any";

/// Canonical text of a case's parameters: `key=value` pairs joined by `,`,
/// `protocol` first, then `direction`, then the other keys sorted.
pub fn canonical_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = params.into_iter().collect();
    let rank = |k: &str| match k {
        "protocol" => 0,
        "direction" => 1,
        _ => 2,
    };
    pairs.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// First 6 hex digits of the MD5 of the canonical parameter text.
pub fn hash6(canonical_params: &str) -> String {
    let digest = Md5::digest(canonical_params.as_bytes());
    digest[..3].iter().map(|b| format!("{b:02x}")).collect()
}

/// `{tool_id}_case_{case_id}_{protocol}_{direction}_{hash6}`.
pub fn case_dir(case: &CaseKey<'_>) -> String {
    format!(
        "{}_case_{}_{}_{}_{}",
        case.tool_id,
        case.case_id,
        case.protocol.unwrap_or(UNSET_PARAM),
        case.direction.unwrap_or(UNSET_PARAM),
        hash6(case.canonical_params)
    )
}

/// Cycle root relative to the results dir: `baseline/{env}` or
/// `ebpf/{case_dir}/{env}`.
pub fn cycle_root(case: Option<&CaseKey<'_>>, env: &str) -> String {
    match case {
        None => format!("baseline/{env}"),
        Some(c) => format!("ebpf/{}/{env}", case_dir(c)),
    }
}

/// Cycle id as used in workflows and JUnit class names.
pub fn cycle_id(case: Option<(&str, u32)>, env: &str) -> String {
    match case {
        None => format!("baseline_{env}"),
        Some((tool, id)) => format!("{tool}_case_{id}_{env}"),
    }
}

/// Trial name (docs/design.md §4).
pub fn trial_name(case: Option<(&str, u32)>, env: &str, variant: &Variant) -> String {
    trial_name_of(case, env, variant.test_type(), &variant.name())
}

/// [`trial_name`] from the test type and variant names (as results files keep them).
pub fn trial_name_of(case: Option<(&str, u32)>, env: &str, t: TestType, v: &str) -> String {
    match case {
        None => format!("baseline::{env}::{t}::{v}"),
        Some((tool, id)) => format!("{tool}::case_{id}::{env}::{t}::{v}"),
    }
}

/// Directory of one trial relative to the results dir, without its
/// timestamp: `{cycle_root}/{test_type}/{variant}`. The run appends `_{ts}`.
pub fn trial_dir_prefix(cycle_root: &str, variant: &Variant) -> String {
    format!(
        "{cycle_root}/{}/{}",
        variant.test_type().as_str(),
        variant.name()
    )
}

/// Where a background hook task of a layer keeps its files, without the
/// extension: `{layer_dir}/hook_{name}_{ts}` (`.pid`, `.pid.exit`, `.log`).
/// Characters of the task name that do not belong in a file name become `_`.
/// The `.pid` name is what the next run's cleanup looks for.
pub fn hook_process_base(layer_dir: &str, name: &str, ts: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}/hook_{safe}_{ts}", layer_dir.trim_end_matches('/'))
}

/// Where a hook task's `output` goes: absolute paths as written, relative
/// ones under the layer's result directory.
pub fn hook_output_path(layer_dir: &str, output: &str) -> String {
    if output.starts_with('/') {
        output.to_string()
    } else {
        format!("{}/{output}", layer_dir.trim_end_matches('/'))
    }
}

/// The framework's own directory on a host (monitor agent, lease).
pub fn own_dir(workdir: &str) -> String {
    format!("{}/.ebpf-perf", workdir.trim_end_matches('/'))
}

/// The lease a run holds on a host while it uses it.
pub fn lease_path(workdir: &str) -> String {
    format!("{}/lease", own_dir(workdir))
}

/// Absolute remote path of the results root of a host.
pub fn results_root(workdir: &str) -> String {
    format!("{}/{RESULTS_DIR}", workdir.trim_end_matches('/'))
}

/// Timestamp as used in file and directory names: `YYYYMMDD_HHMMSS`.
pub fn name_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d_%H%M%S").to_string()
}

/// Timestamp as used in log lines: `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`.
/// The calibration file the harness's `--calibrate N` writes next to the
/// results file (and `ebpf-perf calibrate`'s default).
pub const CALIBRATION_FILE: &str = "calibration.json";

pub fn log_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.9f").to_string()
}

#[cfg(test)]
mod hook_path_tests {
    use rstest::rstest;

    #[rstest]
    #[case(
        "/r/case",
        "perf stat",
        "20260101_000000",
        "/r/case/hook_perf_stat_20260101_000000"
    )]
    #[case("/r/case/", "a-b_c", "ts", "/r/case/hook_a-b_c_ts")]
    #[case("/r", "../x;y", "ts", "/r/hook____x_y_ts")]
    fn hook_process_base(
        #[case] dir: &str,
        #[case] name: &str,
        #[case] ts: &str,
        #[case] want: &str,
    ) {
        assert_eq!(super::hook_process_base(dir, name, ts), want);
    }

    #[rstest]
    #[case("/r/case", "stat.log", "/r/case/stat.log")]
    #[case("/r/case/", "sub/stat.log", "/r/case/sub/stat.log")]
    #[case("/r/case", "/tmp/stat.log", "/tmp/stat.log")]
    fn hook_output_path(#[case] dir: &str, #[case] out: &str, #[case] want: &str) {
        assert_eq!(super::hook_output_path(dir, out), want);
    }
}
