//! Seed tasks that ebpf-perf does itself: recognised by their command and
//! not copied, each with the reason that goes into the comment left in its
//! place.

/// Why a seed task with command `cmd` is not copied, if it duplicates a
/// built-in.
pub fn replaced_by(cmd: &str) -> Option<&'static str> {
    let words: Vec<&str> = cmd
        .split(|c: char| c.is_whitespace() || ";|&()".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| {
        words
            .iter()
            .any(|x| *x == w || x.ends_with(&format!("/{w}")))
    };
    if crate::config::kills_by_name(cmd).is_some() {
        return Some("ebpf-perf stops everything it starts by PID; a kill by name would also hit processes that are not ours");
    }
    if cmd.contains("{ebpf_command}") {
        return Some("ebpf-perf starts each case's eBPF program, waits until it loads a BPF program, and stops it by PID");
    }
    if words
        .windows(2)
        .any(|w| w[0] == "kill" && w[1].contains("{ebpf_pid}"))
    {
        return Some("ebpf-perf stops the case's eBPF program by PID itself");
    }
    // `kill $(cat x.pid)`, `P=$(cat …pid…); kill $P`: not `kill -0`, a check.
    let kills = words.windows(2).any(|w| w[0] == "kill" && w[1] != "-0");
    if kills
        && (cmd.contains("$(cat") || words.iter().any(|w| w.to_ascii_lowercase().contains("pid")))
    {
        return Some("ebpf-perf stops what it started by the PID it recorded itself, and checks that the process is still its own");
    }
    if (has("iperf3") && words.iter().any(|w| *w == "-s" || *w == "--server")) || has("netserver") {
        return Some("ebpf-perf starts and stops the servers of every test itself");
    }
    if has("top") || has("ps") || has("pidstat") {
        return Some("resource monitoring is built in: the monitor agent samples the tool's CPU, memory and log size every second");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::replaced_by;
    use rstest::rstest;

    #[rstest]
    #[case("pkill iperf3; pkill netserver", true)]
    #[case("killall -9 bpftrace", true)]
    #[case("nohup {ebpf_command} > ebpf.log 2>&1 &", true)]
    #[case("kill {ebpf_pid}", true)]
    #[case("iperf3 -s -p 5001 -D", true)]
    #[case("/usr/bin/netserver -p 12865", true)]
    #[case(
        "while true; do top -b -n 1 -p {ebpf_pid} >> top.log; sleep 1; done",
        true
    )]
    #[case("ps -o rss= -p {ebpf_pid}", true)]
    #[case("kill $(cat {result_path}/mon_pid.txt) 2>/dev/null || true", true)]
    #[case("P=$(cat f); if kill -0 $P; then kill $P; fi", true)]
    #[case("while kill -0 {ebpf_pid}; do sleep 1; done", false)]
    #[case("perf stat -I 1000 -p {ebpf_pid}", false)]
    #[case("iperf3 --version", false)]
    #[case("dmesg | tail -n 200", false)]
    #[case("ethtool -k {interface}", false)]
    #[case("cat /proc/cpuinfo > cpus.txt", false)]
    fn seed_tasks_that_duplicate_built_ins(#[case] cmd: &str, #[case] replaced: bool) {
        assert_eq!(replaced_by(cmd).is_some(), replaced, "{cmd}");
    }
}
