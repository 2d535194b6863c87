use super::*;
use crate::domain::TestType::{Latency, Pps, Throughput};
use rstest::rstest;

fn rules(file: &[(&str, f64)], own: &[(&str, f64)]) -> Budgets {
    let rule = |(key, limit): &(&str, f64), own: bool| {
        let (name, scope) = parse_key(key).unwrap();
        Rule {
            key: key.to_string(),
            name,
            scope,
            limit: *limit,
            own,
        }
    };
    Budgets {
        rules: file
            .iter()
            .map(|r| rule(r, false))
            .chain(own.iter().map(|r| rule(r, true)))
            .collect(),
    }
}

#[rstest]
#[case("pps_loss_pct", "pps_loss_pct", None, None)]
#[case("pps_loss_pct{test:pps}", "pps_loss_pct", None, Some(Pps))]
#[case(
    "latency_p99_increase_pct{env:vm}",
    "latency_p99_increase_pct",
    Some("vm"),
    None
)]
#[case("x{ env: vm , test: latency }", "x", Some("vm"), Some(Latency))]
#[case("x{test:throughput,env:host}", "x", Some("host"), Some(Throughput))]
fn keys_parse(
    #[case] key: &str,
    #[case] name: &str,
    #[case] env: Option<&str>,
    #[case] test: Option<TestType>,
) {
    let (n, s) = parse_key(key).unwrap();
    assert_eq!(n, name);
    assert_eq!(s.env.as_deref(), env);
    assert_eq!(s.test, test);
}

#[rstest]
#[case("x{env:vm", "closing")]
#[case("x{vm}", "not `key:value`")]
#[case("x{host:vm}", "`host` is not known")]
#[case("x{test:udp}", "\"udp\" is not a test type")]
#[case("x{env:a,env:b}", "given twice")]
fn bad_keys_say_why(#[case] key: &str, #[case] says: &str) {
    let e = parse_key(key).unwrap_err();
    assert!(e.contains(says), "{key}: {e}");
}

/// The most specific key wins, a tool's own before the file's, and a scoped
/// key applies only where it is scoped.
#[rstest]
#[case("host", Pps, "pps_loss_pct", Some(5.0))]
#[case("host", Throughput, "pps_loss_pct", None)]
#[case("host", Latency, "latency_p99_increase_pct", Some(50.0))]
#[case("vm", Latency, "latency_p99_increase_pct", Some(80.0))]
#[case("vm", Throughput, "latency_p99_increase_pct", Some(80.0))]
#[case("vm", Pps, "latency_p99_increase_pct", Some(90.0))]
#[case("host", Throughput, "throughput_loss_pct", Some(8.0))]
#[case("vm", Throughput, "throughput_loss_pct", Some(8.0))]
#[case("vm", Latency, "tool_cpu_pct", Some(3.0))]
#[case("host", Latency, "tool_cpu_pct", Some(1.0))]
fn the_most_specific_key_wins(
    #[case] env: &str,
    #[case] test: TestType,
    #[case] name: &str,
    #[case] want: Option<f64>,
) {
    let b = rules(
        &[
            ("throughput_loss_pct", 10.0),
            ("pps_loss_pct{test:pps}", 5.0),
            ("latency_p99_increase_pct", 50.0),
            ("latency_p99_increase_pct{env:vm}", 80.0),
            ("latency_p99_increase_pct{env:vm,test:pps}", 90.0),
            ("tool_cpu_pct{env:vm}", 3.0),
        ],
        &[("throughput_loss_pct", 8.0), ("tool_cpu_pct", 1.0)],
    );
    let got = b.resolve(env, test);
    // A tool's own unscoped key beats the file's scoped one.
    let want = if name == "tool_cpu_pct" && env == "vm" {
        Some(1.0)
    } else {
        want
    };
    assert_eq!(got.get(name).copied(), want, "{got:?}");
}

/// Whatever the order of the keys, a trial's budgets come in the
/// catalog's order.
#[test]
fn names_come_in_catalog_order() {
    let b = rules(
        &[
            ("tool_cpu_pct", 1.0),
            ("throughput_loss_pct", 2.0),
            ("tool_cpu_pct{env:vm}", 3.0),
        ],
        &[("bpf_events_per_s_min", 4.0), ("throughput_loss_pct", 5.0)],
    );
    let got: Vec<(String, f64)> = b.resolve("vm", Latency).into_iter().collect();
    assert_eq!(
        got,
        [
            ("throughput_loss_pct".into(), 5.0),
            ("tool_cpu_pct".into(), 3.0),
            ("bpf_events_per_s_min".into(), 4.0)
        ]
    );
}

#[rstest]
// An env key and a test key of one level disagree on pps tests on vm.
#[case(&[("x{env:vm}", 1.0), ("x{test:pps}", 2.0)], &[], 1)]
// ... unless a key with both tags decides, or they agree.
#[case(&[("x{env:vm}", 1.0), ("x{test:pps}", 2.0), ("x{env:vm,test:pps}", 3.0)], &[], 0)]
#[case(&[("x{env:vm}", 1.0), ("x{test:pps}", 1.0)], &[], 0)]
// One scope written twice.
#[case(&[("x{env:vm,test:pps}", 1.0), ("x{test:pps,env:vm}", 1.0)], &[], 1)]
// Different levels never conflict: the tool's own comes first.
#[case(&[("x{env:vm}", 1.0)], &[("x{test:pps}", 2.0)], 0)]
fn conflicts_are_found(
    #[case] file: &[(&str, f64)],
    #[case] own: &[(&str, f64)],
    #[case] n: usize,
) {
    assert_eq!(rules(file, own).conflicts().len(), n);
}
