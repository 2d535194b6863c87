//! Checks of performance-test-spec.yaml.

use super::*;

pub(super) fn check_protocols(ck: &mut Checker, src: &Source, path: &[&str], ps: &[Protocol]) {
    ck.non_empty(src, path, ps, "protocol (tcp or udp)");
    let unique: HashSet<_> = ps.iter().collect();
    if unique.len() != ps.len() {
        ck.at(src, path, "lists a protocol twice");
    }
}

pub(super) fn check_commands(
    ck: &mut Checker,
    src: &Source,
    base: &[&str],
    c: &Commands,
    protocols: &[Protocol],
    known: &dyn Fn(&str) -> bool,
) {
    let path = |k: &'static str| {
        let mut v = base.to_vec();
        v.push(k);
        v
    };
    match &c.server_cmd {
        Some(t) => ck.template(src, &path("server_cmd"), t, known),
        None => ck.at(
            src,
            base,
            "has no server_cmd; expected a server command template",
        ),
    }
    for p in protocols {
        let key = match p {
            Protocol::Tcp => "client_cmd_tcp",
            Protocol::Udp => "client_cmd_udp",
        };
        match c.client(*p) {
            Some(t) if crate::config::iperf3_without_json(t) => ck.at(
                src,
                &path(key),
                "runs iperf3 without -J; ebpf-perf reads iperf3's JSON report: add -J",
            ),
            Some(t) => ck.template(src, &path(key), t, known),
            None => ck.at(
                src,
                base,
                format!("has no {key}, but protocols include {}", p.as_str()),
            ),
        }
    }
}

pub(super) fn check_streams(
    ck: &mut Checker,
    src: &Source,
    path: &[&str],
    streams: &[u32],
    base_port: u16,
) {
    if ck.non_empty(src, path, streams, "stream count") {
        if streams.contains(&0) {
            ck.at(src, path, "0 streams is not a test; expected counts >= 1");
        }
        let max = streams.iter().copied().max().unwrap_or(1);
        if u32::from(base_port) + max > 65536 {
            ck.at(
                src,
                path,
                format!("{max} streams from base_port {base_port} run past port 65535"),
            );
        }
    }
}

pub(super) fn check_duration(ck: &mut Checker, src: &Source, path: &[&str], d: u32) {
    if d == 0 {
        ck.at(src, path, "0 is not a duration; expected seconds >= 1");
    }
}

pub(super) fn check_bw(ck: &mut Checker, src: &Source, path: &[&str], bw: &str) {
    let digits = bw.trim_end_matches(['K', 'M', 'G', 'k', 'm', 'g']);
    let ok = !digits.is_empty()
        && digits.len() + 1 >= bw.len()
        && digits.parse::<f64>().is_ok_and(|v| v >= 0.0)
        && !digits.starts_with(['+', '-']);
    if !ok {
        ck.at(
            src,
            path,
            format!("{bw:?} is not a bandwidth; expected e.g. 100M, 1G, 10G or 0 (unlimited)"),
        );
    }
}

pub(super) fn check_perf(
    ck: &mut Checker,
    (src, f): &(Source, PerfFile),
    envs: &EnvFile,
) -> PerfSpec {
    let (root, spec) = match (&f.performance_tests, &f.test_types) {
        (Some(s), None) => ("performance_tests", s.clone()),
        (None, Some(s)) => ("test_types", s.clone()),
        (Some(_), Some(_)) => {
            ck.at(
                src,
                &["test_types"],
                "both performance_tests and test_types are given; keep one",
            );
            return PerfSpec::default();
        }
        (None, None) => {
            ck.at(
                src,
                &[],
                "has no performance_tests; expected the key performance_tests (or test_types)",
            );
            return PerfSpec::default();
        }
    };
    let vars = common_vars(envs.test_environments.values());
    let known = |n: &str| {
        ENV_PLACEHOLDERS.contains(&n) || PERF_PLACEHOLDERS.contains(&n) || vars.contains(n)
    };
    check_runs(ck, src, &[root], spec.repeats, &spec.precision());
    check_cpu_latency(ck, src, &[root], spec.cpu_latency_us);
    retired(
        ck,
        src,
        &[root],
        [
            ("min_repeats", spec.min_repeats.is_some()),
            ("max_repeats", spec.max_repeats.is_some()),
            ("baseline_every_cases", spec.baseline_every_cases.is_some()),
            ("baseline_every_min", spec.baseline_every_min.is_some()),
        ],
    );
    if let Some(cv) = spec.max_cv_pct.filter(|v| !(v.is_finite() && *v > 0.0)) {
        ck.at(
            src,
            &[root, "max_cv_pct"],
            format!("{cv} is not a limit; expected a percentage > 0"),
        );
    }
    if let Some(q) = spec
        .quiet_cpu_pct
        .filter(|v| !(v.is_finite() && *v > 0.0 && *v <= 100.0))
    {
        ck.at(
            src,
            &[root, "quiet_cpu_pct"],
            format!("{q} is not a CPU limit; expected a percentage > 0 and <= 100"),
        );
    }
    if let Some(w) = spec.quiet_wait_s.filter(|v| !(v.is_finite() && *v >= 0.0)) {
        ck.at(
            src,
            &[root, "quiet_wait_s"],
            format!("{w} is not a wait; expected seconds >= 0"),
        );
    }
    for (ty, runs) in [
        ("throughput", spec.throughput.as_ref().map(|t| &t.runs)),
        ("latency", spec.latency.as_ref().map(|t| &t.runs)),
        ("pps", spec.pps.as_ref().map(|t| &t.runs)),
    ] {
        if let Some(r) = runs {
            check_runs(ck, src, &[root, ty], r.repeats, &r.precision());
            check_cpu_latency(ck, src, &[root, ty], r.cpu_latency_us);
            retired(
                ck,
                src,
                &[root, ty],
                [
                    ("min_repeats", r.min_repeats.is_some()),
                    ("max_repeats", r.max_repeats.is_some()),
                    ("baseline_every_cases", false),
                    ("baseline_every_min", false),
                ],
            );
        }
    }
    if spec.throughput.is_none() && spec.latency.is_none() && spec.pps.is_none() {
        ck.at(
            src,
            &[root],
            "defines no test; expected throughput, latency and/or pps",
        );
    }
    if let Some(t) = &spec.throughput {
        if t.single_stream.is_none() && t.multi_stream.is_none() {
            ck.at(
                src,
                &[root, "throughput"],
                "defines neither single_stream nor multi_stream",
            );
        }
        if let Some(s) = &t.single_stream {
            let base = [root, "throughput", "single_stream"];
            let ss = |k: &'static str| [root, "throughput", "single_stream", k];
            check_protocols(ck, src, &ss("protocols"), &s.protocols);
            check_commands(ck, src, &base, &s.commands, &s.protocols, &known);
            check_duration(ck, src, &ss("duration"), s.duration);
            let bw_path = [root, "throughput", "single_stream", "target_bw"];
            ck.non_empty(src, &bw_path, &s.target_bw, "bandwidth");
            for bw in &s.target_bw {
                check_bw(ck, src, &bw_path, bw);
            }
            let unique: HashSet<_> = s.target_bw.iter().collect();
            if unique.len() != s.target_bw.len() {
                ck.at(
                    src,
                    &bw_path,
                    "lists a bandwidth twice (trial names would collide)",
                );
            }
            ck.non_empty(src, &ss("ports"), &s.ports, "port");
        }
        if let Some(m) = &t.multi_stream {
            let base = [root, "throughput", "multi_stream"];
            let ms = |k: &'static str| [root, "throughput", "multi_stream", k];
            check_protocols(ck, src, &ms("protocols"), &m.protocols);
            // Commands fall back to single_stream's.
            let single = t.single_stream.as_ref().map(|s| &s.commands);
            let merged = Commands {
                server_cmd: m
                    .commands
                    .server_cmd
                    .clone()
                    .or_else(|| single.and_then(|s| s.server_cmd.clone())),
                client_cmd_tcp: m
                    .commands
                    .client_cmd_tcp
                    .clone()
                    .or_else(|| single.and_then(|s| s.client_cmd_tcp.clone())),
                client_cmd_udp: m
                    .commands
                    .client_cmd_udp
                    .clone()
                    .or_else(|| single.and_then(|s| s.client_cmd_udp.clone())),
            };
            check_commands(ck, src, &base, &merged, &m.protocols, &known);
            check_streams(ck, src, &ms("streams"), &m.streams, m.base_port);
            check_duration(ck, src, &ms("duration"), m.duration);
            check_bw(ck, src, &ms("target_bw"), &m.target_bw);
        }
    }
    if let Some(l) = &spec.latency {
        check_protocols(ck, src, &[root, "latency", "protocols"], &l.protocols);
        check_commands(
            ck,
            src,
            &[root, "latency"],
            &l.commands,
            &l.protocols,
            &known,
        );
        check_duration(ck, src, &[root, "latency", "duration"], l.duration);
        ck.non_empty(src, &[root, "latency", "ports"], &l.ports, "port");
    }
    if let Some(p) = &spec.pps {
        check_protocols(ck, src, &[root, "pps", "protocols"], &p.protocols);
        check_commands(ck, src, &[root, "pps"], &p.commands, &p.protocols, &known);
        if let Some(sar) = &p.sar_cmd {
            ck.template(src, &[root, "pps", "sar_cmd"], sar, &known);
        }
        check_streams(ck, src, &[root, "pps", "streams"], &p.streams, p.base_port);
        check_duration(ck, src, &[root, "pps", "duration"], p.duration);
        check_bw(ck, src, &[root, "pps", "target_bw"], &p.target_bw);
    }
    spec
}

/// `repeats: 0` would measure nothing; a precision target needs a
/// positive percentage, at least two runs (one run has no interval), a
/// floor no higher than the ceiling, and a positive time cap.
/// The kernel takes a limit up to i32::MAX µs; above a second no idle
/// state is held off, so more is a mistake.
fn check_cpu_latency(ck: &mut Checker, src: &Source, base: &[&str], us: Option<u32>) {
    if let Some(us) = us.filter(|us| *us > 1_000_000) {
        let mut path = base.to_vec();
        path.push("cpu_latency_us");
        ck.at(
            src,
            &path,
            format!("{us} µs holds no idle state off; expected a limit from 0 to 1000000 µs (0: CPUs never sleep deeper than polling)"),
        );
    }
}

fn check_runs(
    ck: &mut Checker,
    src: &Source,
    base: &[&str],
    repeats: Option<u32>,
    p: &crate::config::Precision,
) {
    let at = |ck: &mut Checker, key: &str, msg: String| {
        let mut path = base.to_vec();
        path.push(key);
        ck.at(src, &path, msg);
    };
    if repeats == Some(0) {
        at(
            ck,
            "repeats",
            "0 runs measure nothing; expected repeats >= 1".into(),
        );
    }
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if let Some(t) = p.target_ci_pct.filter(|t| !positive(*t)) {
        at(
            ck,
            "target_ci_pct",
            format!("{t} is not a precision; expected a half-width in percent > 0"),
        );
    }
    if let Some(s) = p.max_trial_s.filter(|s| !positive(*s)) {
        at(
            ck,
            "max_trial_s",
            format!("{s} is not a time cap; expected seconds > 0"),
        );
    }
    let (min, max) = (p.pairs.and_then(|x| x.min), p.pairs.and_then(|x| x.max));
    if let Some(n) = min.filter(|n| *n < 2) {
        at(
            ck,
            "pairs",
            format!("min {n}: one pair gives no interval; expected pairs >= 2 (6 or more recommended: with fewer the t interval widens fast)"),
        );
    }
    if let (Some(lo), Some(hi)) = (min, max) {
        if hi < lo {
            at(
                ck,
                "pairs",
                format!("max {hi} is below min {lo}; expected max >= min"),
            );
        }
    }
}

/// Keys of the run-level design that pairs replaced: each is an error that
/// says what to write instead.
fn retired(ck: &mut Checker, src: &Source, base: &[&str], keys: [(&str, bool); 4]) {
    for (key, _) in keys.into_iter().filter(|(_, given)| *given) {
        let instead = match key {
            "min_repeats" | "max_repeats" => {
                "the pair of blocks (a baseline block and a tool block, in random order) is the unit now: write `pairs: {min: 6, max: 10}`; `repeats` is the runs of each block"
            }
            _ => "every eBPF trial is measured beside its baseline in pairs now, so there is nothing to re-measure: delete it",
        };
        let mut path = base.to_vec();
        path.push(key);
        ck.at(src, &path, format!("is no longer read: {instead}"));
    }
}
