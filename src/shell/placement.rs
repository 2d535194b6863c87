//! Where a run's processes ran (docs/design.md §7): on the lab, latency is
//! bimodal by CPU placement (netperf and netserver on one CPU, or across
//! two), and a run's placement explains its mode. A sampler started beside
//! the servers, and one beside the clients, walks the process trees of the
//! recorded processes every 0.2 s and appends one line per sample: the CPU
//! each leaf process (the tool itself, not its shells) last ran on, field
//! 39 of /proc/PID/stat. The stop's round trip reads the file back. Shell
//! builtins only, besides `sleep`: the sampler must cost the host little
//! while it measures.

use super::quote;
use std::collections::BTreeMap;

pub const MARK: &str = "@@ebpf-perf-placement";
/// Seconds between samples.
const INTERVAL: &str = "0.2";

/// The sampler: reads the recorded PIDs of `pid_files` (written by the
/// starts of the same round trip), then samples their trees into `out`
/// until it is stopped.
pub fn sampler(pid_files: &[String], out: &str) -> String {
    let files: Vec<String> = pid_files.iter().map(|f| quote(f).into_owned()).collect();
    format!(
        "o={out}; : > \"$o\"; roots=\n\
         for f in {files}; do p=; {{ read -r p _t _b < \"$f\"; }} 2>/dev/null; roots=\"$roots $p\"; done\n\
         while :; do\n\
           P=; q=$roots\n\
           while [ -n \"$q\" ]; do\n\
             set -- $q; x=$1; shift; q=\"$*\"; k=\n\
             {{ read -r k < /proc/$x/task/$x/children; }} 2>/dev/null\n\
             if [ -n \"$k\" ]; then q=\"$q $k\"\n\
             else l=; {{ read -r l < /proc/$x/stat; }} 2>/dev/null && [ -n \"$l\" ] && {{ set -- ${{l##*) }}; P=\"$P ${{37}}\"; }}\n\
             fi\n\
           done\n\
           [ -z \"$P\" ] || echo \"$P\" >> \"$o\"\n\
           sleep {INTERVAL}\n\
         done\n",
        out = quote(out),
        files = files.join(" "),
    )
}

/// Prints `MARK ROLE` and the samples of `out` (nothing when it is gone).
pub fn read(role: &str, out: &str) -> String {
    format!(
        "echo {MARK} {role}; cat {} 2>/dev/null || true\n",
        quote(out)
    )
}

/// Per role, per CPU, the samples that found a process there, from the
/// output of one or more [`read`]s (other text around them is ignored up
/// to the next line that starts with `@@`).
pub fn parse(stdout: &str) -> BTreeMap<String, BTreeMap<u32, u32>> {
    let mut out: BTreeMap<String, BTreeMap<u32, u32>> = BTreeMap::new();
    let mut role: Option<String> = None;
    for line in stdout.lines() {
        if let Some(r) = line.strip_prefix(MARK) {
            role = Some(r.trim().to_string());
            out.entry(r.trim().to_string()).or_default();
            continue;
        }
        if line.starts_with("@@") {
            role = None;
            continue;
        }
        let Some(r) = &role else { continue };
        let counts = out.entry(r.clone()).or_default();
        for cpu in line
            .split_whitespace()
            .filter_map(|w| w.parse::<u32>().ok())
        {
            *counts.entry(cpu).or_default() += 1;
        }
    }
    out.retain(|_, c| !c.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_counted_per_role_and_cpu_and_other_output_is_left() {
        let out = format!(
            "{MARK} server\n0 0\n1\n@@ebpf-perf-slice cpu_mem\n3 3 3\n{MARK} client\n1\n1\n"
        );
        let p = parse(&out);
        assert_eq!(p["server"], [(0, 2), (1, 1)].into());
        assert_eq!(p["client"], [(1, 2)].into());
        assert!(parse(&format!("{MARK} server\n")).is_empty());
    }

    #[test]
    fn the_sampler_finds_the_cpu_of_the_leaves_of_a_real_tree() {
        let dir = tempfile::tempdir().unwrap();
        let pidf = dir.path().join("p.pid");
        let out = dir.path().join("placement.txt");
        // A shell whose child is a sleeping leaf: the root's pid file as
        // start_script writes it.
        let mut root = std::process::Command::new("sh")
            .args(["-c", "sleep 2 & wait"])
            .spawn()
            .unwrap();
        std::fs::write(&pidf, format!("{} 0 x\n", root.id())).unwrap();
        let script = sampler(&[pidf.display().to_string()], &out.display().to_string());
        let mut s = std::process::Command::new("sh")
            .args(["-c", &script])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        let _ = s.kill();
        let _ = s.wait();
        let _ = root.kill();
        let _ = root.wait();
        let text = std::fs::read_to_string(&out).unwrap();
        // SAFETY: sysconf has no preconditions.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as u32;
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 2, "{text:?}");
        for l in lines {
            // One leaf (the sleep), on a CPU this machine has.
            let v: Vec<u32> = l.split_whitespace().map(|w| w.parse().unwrap()).collect();
            assert_eq!(v.len(), 1, "{l:?}");
            assert!(v[0] < cpus, "{l:?}: this machine has {cpus} CPUs");
        }
    }
}
