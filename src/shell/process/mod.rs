//! The one way to start and stop a process, on a remote host or on this
//! machine (the lab's sshd): as POSIX shell scripts that whichever transport
//! runs.
//!
//! Start: the command runs detached (`setsid`: own session and process group,
//! stdin from /dev/null, stdout/stderr appended to files) under a small wrapper
//! that records its exit status. The wrapper's PID and start time (from
//! /proc/PID/stat) are written to a pid file and returned.
//!
//! A process whose command line does not (yet, or any more) name our status
//! file, caught between fork and exec or while it exits, is given up to 2 s
//! to show it or to finish before it is judged, so that it is not taken for
//! someone else's.
//! The wrapper's `wait` returns early (128 + signal) when TERM interrupts it;
//! it waits again, so the status recorded is the command's own.
//! A command that ends at once can be gone, wrapper and all, before its start
//! time is read; it is then recorded with start time 0, which no running
//! process has, so it is never signalled, and its stop reports the exit
//! status the wrapper wrote.
//!
//! Stop: only if /proc/PID still has the recorded start time and its command
//! line names our status file (so a reused PID is never touched): TERM to the
//! process group, and to every descendant that left the group (a daemon's
//! setsid children, e.g. sshd's per-connection processes), KILL after the
//! grace period, and then up to 2 s more for the killed to be gone (a busy
//! host takes a moment to end them). The KILL goes to the process group
//! only while its leader is still ours; once the leader is gone (its group
//! id free for another's), it goes to each process that carries our mark
//! or was listed with its start time, never to the group id. A process
//! that already exited is not an error; its exit status is reported when the wrapper recorded it.
//! Descendants are listed once, before the first signal: one that leaves the
//! group in the instant between the listing and the signal is missed.

use super::quote;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A process we started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: u32,
    /// Field 22 of /proc/PID/stat (clock ticks after boot).
    pub start_time: u64,
    /// Where the wrapper writes the exit status; also our mark on the process.
    pub status_file: String,
    /// The host's boot id when it started (empty in records from before it
    /// was kept): a stop after a reboot touches nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub boot: String,
}

/// How a stop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// It had exited before; `status` when it was recorded.
    AlreadyExited { status: Option<i32> },
    /// It ended on TERM within the grace period.
    Terminated { status: Option<i32> },
    /// It ignored TERM and was killed.
    Killed,
    /// The PID now belongs to another process, which was left alone.
    NotOurs { detail: String },
}

/// The environment variable every process we start (and all it starts)
/// carries, holding its status file: what marks a process group as ours
/// once its leader is gone (after a reboot, a PGID can be another's).
pub const MARK_VAR: &str = "EBPF_PERF_MARK";

/// Prints the host's boot id (empty where the kernel has none).
pub const BOOT_ID: &str = "cat /proc/sys/kernel/random/boot_id 2>/dev/null";

/// Shell functions `alive PID STARTTIME`, true while that process (not a
/// zombie, not a reused PID) runs, and `stat_of PID`, which sets `_s` and
/// `_t` to its state and start time (fields 3 and 22 of /proc/PID/stat), and
/// `_g` to its process group, or fails with all three empty. For scripts
/// that check recorded processes.
/// Builtins only: a fork and exec costs about 2 ms on a small host, and
/// these run in every poll.
pub const ALIVE_FN: &str = concat!(
    "stat_of() { _s=; _g=; _t=; _l=; { read -r _l </proc/$1/stat; } 2>/dev/null || [ -n \"$_l\" ] || return 1; \
     set -- ${_l##*) }; _s=$1; _g=$3; _t=${20}; }\n",
    "alive() { stat_of $1 && [ \"$_s\" != Z ] && [ \"$_t\" = \"$2\" ]; }"
);

/// Shell function `cs`: sets `_c` to the centiseconds since boot (from
/// /proc/uptime), for loops that must end after a wall-clock time however
/// slowly each round runs on a busy host. A builtin read, no subshell.
pub const CLOCK_FN: &str = "cs() { read -r _u _r </proc/uptime; _c=\"${_u%.*}${_u#*.}\"; }";

/// Reads the host's boot id into `b` (empty where the kernel has none).
const BOOT_READ: &str = "b=; { read -r b </proc/sys/kernel/random/boot_id; } 2>/dev/null || true";

/// Script that starts `command` detached; prints `started PID STARTTIME BOOTID`.
pub fn start_script(command: &str, stdout: &str, stderr: &str, pid_file: &str) -> String {
    let status = status_file(pid_file);
    let wrapper = "sh -c \"$1\" </dev/null >>\"$2\" 2>>\"$3\" & c=$!; \
                   trap 'kill -TERM $c 2>/dev/null' TERM INT HUP; \
                   wait $c; s=$?; while kill -0 $c 2>/dev/null; do wait $c; s=$?; done; \
                   wait $c 2>/dev/null; r=$?; [ $r -ne 127 ] && s=$r; \
                   echo $s >\"$4\"";
    let mut dirs: Vec<String> = [stdout, stderr, pid_file]
        .iter()
        .filter_map(|f| std::path::Path::new(f).parent())
        .map(|d| d.display().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    dirs.dedup();
    let mkdir = if dirs.is_empty() {
        String::new()
    } else {
        // Usually there already: then no mkdir process.
        let quoted: Vec<String> = dirs.iter().map(|d| quote(d).into_owned()).collect();
        let tests: Vec<String> = quoted.iter().map(|d| format!("[ -d {d} ]")).collect();
        format!("{} || mkdir -p {}\n", tests.join(" && "), quoted.join(" "))
    };
    format!(
        "set -e\n\
         {ALIVE_FN}\n\
         {mkdir}\
         [ ! -e {st} ] || rm -f {st}\n\
         {MARK_VAR}={st} setsid sh -c {wrapper} ebpf-perf-process {cmd} {out} {err} {st} </dev/null >/dev/null 2>&1 &\n\
         p=$!\n\
         stat_of $p || true\n\
         t=${{_t:-0}}\n\
         {BOOT_READ}\n\
         echo \"$p $t $b\" > {pidf}\n\
         echo \"started $p $t $b\"\n",
        out = quote(stdout),
        err = quote(stderr),
        pidf = quote(pid_file),
        st = quote(&status),
        wrapper = quote(wrapper),
        cmd = quote(command),
    )
}

/// The status file that belongs to a pid file.
pub fn status_file(pid_file: &str) -> String {
    format!("{pid_file}.exit")
}

/// Parses the output of [`start_script`].
pub fn parse_started(stdout: &str, pid_file: &str) -> Option<ProcessRecord> {
    let line = stdout.lines().find_map(|l| l.strip_prefix("started "))?;
    let mut it = line.split_whitespace();
    Some(ProcessRecord {
        pid: it.next()?.parse().ok()?,
        start_time: it.next()?.parse().ok()?,
        status_file: status_file(pid_file),
        boot: it.next().unwrap_or_default().to_string(),
    })
}

/// Shell function `descendants PID [all]`: the PIDs under PID (children,
/// grandchildren, ...) that are not in its process group: those that left it
/// with setsid, as a daemon's per-connection children do (sshd); with `all`,
/// those in the group too. Read while
/// PID runs; once it exits they are reparented and can no longer be told
/// apart from other processes. Walks /proc/PID/task/TID/children with
/// builtins; where the kernel has no such files, one `ps` of all processes.
/// Uses `stat_of` (see [`ALIVE_FN`]).
const DESCENDANTS_FN: &str = "descendants() { _a=$2; if [ ! -e /proc/$1/task/$1/children ]; then \
     ps -e -o pid=,ppid=,pgid= | awk -v r=\"$1\" -v all=\"$_a\" \
     '{ par[$1] = $2; grp[$1] = $3 } END { for (q in par) { a = par[q]; n = 0; \
     while (a > 1 && a != r && n < 256) { a = par[a]; n++ } if (a == r && (all != \"\" || grp[q] != r)) print q } }'; return; fi; \
     _r=$1; _q=$1; _n=0; while [ -n \"$_q\" ] && [ $_n -lt 4096 ]; do set -- $_q; _h=$1; shift; _q=\"$*\"; \
     for _f in /proc/$_h/task/*/children; do _c=; { read -r _c <\"$_f\"; } 2>/dev/null; \
     for _k in $_c; do _n=$((_n+1)); _q=\"$_q $_k\"; stat_of $_k && { [ -n \"$_a\" ] || [ \"$_g\" != \"$_r\" ]; } && echo $_k; done; done; done; }";

/// Script that stops a recorded process (see the module doc). The whole
/// process group must be gone before it counts as stopped, and so must every
/// descendant that left the group (each checked by its own start time).
pub fn stop_script(p: &ProcessRecord, grace: Duration) -> String {
    let centis = (grace.as_millis() / 10).max(1);
    format!(
        "p={pid}; t={start}; st={st}; g={centis}\n\
         {BOOT_READ}\n\
         if [ -n {boot} ] && [ \"$b\" != {boot} ]; then echo \"notours recorded before the host rebooted\"; exit 0; fi\n\
         {ALIVE_FN}\n\
         {CLOCK_FN}\n\
         group() {{ ps -e -o pgid=,pid=,stat= | awk -v g=\"$p\" '$1 == g && $3 !~ /^Z/ {{ print $2 }}'; }}\n\
         marked() {{ kill -0 -$p 2>/dev/null || return 0; for q in $(group); do grep -qzxF -- \"{MARK_VAR}=$st\" /proc/$q/environ 2>/dev/null && echo $q; done; }}\n\
         {DESCENDANTS_FN}\n\
         listed() {{ for k in $1; do alive ${{k%%:*}} ${{k#*:}} && echo ${{k%%:*}}; done; }}\n\
         stray() {{ listed \"$kids\"; }}\n\
         known() {{ alive $p $t && return; for k in $ins $kids; do alive ${{k%%:*}} ${{k#*:}} && return; done; return 1; }}\n\
         running() {{ known || [ -n \"$(marked)\" ]; }}\n\
         ours_all() {{ if alive $p $t; then kill -$1 -$p 2>/dev/null || kill -$1 $p 2>/dev/null; else for q in $(marked) $(listed \"$ins\"); do kill -$1 $q 2>/dev/null; done; fi; for q in $(stray); do kill -$1 $q 2>/dev/null; done; true; }}\n\
         report() {{ if [ -f \"$st\" ]; then read -r s <\"$st\" || true; echo \"status $s\"; fi; }}\n\
         if stat_of $p && [ \"$_t\" != \"$t\" ]; then echo \"notours start time $_t, recorded $t\"; exit 0; fi\n\
         ours() {{ grep -qzxF -- \"$st\" /proc/$p/cmdline 2>/dev/null; }}\n\
         i=0; o=1; while alive $p $t && ! ours && o=0 && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); o=1; done\n\
         gone() {{ q=$(marked); if [ -n \"$q\" ]; then kill -KILL $q 2>/dev/null; echo killed; exit 0; fi; echo exited; report; exit 0; }}\n\
         alive $p $t || gone\n\
         if [ $o = 0 ]; then c=$(tr '\\0' ' ' </proc/$p/cmdline 2>/dev/null | cut -c1-200)\n\
           [ -n \"$c\" ] || {{ i=0; while alive $p $t && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; alive $p $t || gone; }}\n\
           echo \"notours $c\"; exit 0; fi\n\
         kids=\"\"; ins=\"\"; for q in $(descendants $p all); do stat_of $q || continue; if [ \"$_g\" = $p ]; then ins=\"$ins $q:$_t\"; else kids=\"$kids $q:$_t\"; fi; done\n\
         kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null || true\n\
         for q in $(stray); do kill -TERM $q 2>/dev/null || true; done\n\
         cs; end=$((_c + g)); while running && cs && [ $_c -lt $end ]; do sleep 0.005; done\n\
         if running; then ours_all KILL\n\
           cs; end=$((_c + 200)); while running && cs && [ $_c -lt $end ]; do sleep 0.005; done; echo killed; exit 0; fi\n\
         echo terminated\n\
         report\n",
        pid = p.pid,
        start = p.start_time,
        st = quote(&p.status_file),
        boot = quote(&p.boot),
    )
}

/// Parses the output of [`stop_script`].
pub fn parse_stopped(stdout: &str) -> Option<Stopped> {
    let status = stdout
        .lines()
        .find_map(|l| l.strip_prefix("status "))
        .and_then(|s| s.trim().parse().ok());
    let first = stdout.lines().next()?;
    Some(match first.split_whitespace().next()? {
        "exited" => Stopped::AlreadyExited { status },
        "terminated" => Stopped::Terminated { status },
        "killed" => Stopped::Killed,
        "notours" => Stopped::NotOurs {
            detail: first.trim_start_matches("notours").trim().to_string(),
        },
        _ => return None,
    })
}

/// Script that tells whether a recorded process still runs: prints `alive`
/// or `gone`.
pub fn alive_script(p: &ProcessRecord) -> String {
    format!(
        "{ALIVE_FN}\nif alive {pid} {start}; then echo alive; else echo gone; fi\n",
        pid = p.pid,
        start = p.start_time
    )
}

/// Script that waits (at most `max`) until a process of the recorded process
/// group holds a file descriptor whose link contains `fd_link` (for eBPF
/// programs: `anon_inode:bpf-prog`, i.e. its BPF programs are loaded). Prints
/// `ready`, `exited` or `timeout`.
pub fn wait_fd_script(p: &ProcessRecord, fd_link: &str, max: Duration) -> String {
    format!(
        "p={pid}; t={start}\n{}",
        wait_fd_of_vars(fd_link, max),
        pid = p.pid,
        start = p.start_time,
    )
}

/// [`wait_fd_script`] for the process whose PID and start time are in the
/// shell variables `p` and `t`.
fn wait_fd_of_vars(fd_link: &str, max: Duration) -> String {
    let centis = (max.as_millis() / 10).max(1);
    format!(
        "{ALIVE_FN}\n\
         {CLOCK_FN}\n\
         cs; end=$((_c + {centis}))\n\
         while :; do\n\
           alive $p $t || {{ echo exited; exit 0; }}\n\
           for q in $(ps -e -o pgid=,pid= | awk -v g=\"$p\" '$1 == g {{ print $2 }}'); do\n\
             ls -l /proc/$q/fd 2>/dev/null | grep -qF -- {link} && {{ echo ready; exit 0; }}\n\
           done\n\
           cs; [ $_c -ge $end ] && {{ echo timeout; exit 0; }}\n\
           sleep 0.02\n\
         done\n",
        link = quote(fd_link),
    )
}

/// How a tool episode knows its program is ready (see `run::episode`).
pub enum Ready<'a> {
    /// It runs (a tool that loads no BPF).
    Running,
    /// Its BPF programs are attached: asked of the monitor agent at this
    /// path, which can query the kernel.
    Attached { agent: &'a str },
    /// A program is loaded (a host without the agent).
    Loaded,
}

/// Script that reads the record in `pid_file` (as [`start_script`] wrote
/// it), waits until the process is ready as `how` says, at most `max`, and
/// prints `ready`, `exited` or `timeout`.
pub fn wait_ready_script(pid_file: &str, how: Ready<'_>, max: Duration) -> String {
    let read = format!("read -r p t _b < {}\n", quote(pid_file));
    match how {
        Ready::Running => {
            format!("{read}{ALIVE_FN}\nif alive $p $t; then echo ready; else echo exited; fi\n")
        }
        Ready::Attached { agent } => format!(
            "{read}{} --wait-attached \"$p\" \"$t\" --timeout-ms {}\n",
            quote(agent),
            max.as_millis()
        ),
        Ready::Loaded => format!("{read}{}", wait_fd_of_vars("anon_inode:bpf-prog", max)),
    }
}

/// Several scripts run in one shell, each in its own subshell, each output
/// preceded by a marker line; [`split_outputs`] takes them apart.
pub fn batch(scripts: &[String]) -> String {
    scripts
        .iter()
        .map(|s| format!("echo {BATCH_MARK}\n(\n{s})\n"))
        .collect()
}

/// Stop scripts (see [`stop_script`]) of `ps`, run at the same time: a
/// stop that waits for its process to end no longer delays the next one.
/// Each output line is tagged with its script's index (one `printf` of a
/// short line is one atomic write to the pipe); [`split_stops`] takes them
/// apart. One script runs as in [`batch`].
pub fn stop_batch(ps: &[ProcessRecord], grace: Duration) -> String {
    let scripts: Vec<String> = ps.iter().map(|p| stop_script(p, grace)).collect();
    if ps.len() < 2 {
        return batch(&scripts);
    }
    let mut all = String::new();
    for (i, s) in scripts.iter().enumerate() {
        all += &format!(
            "(\n{s}) | while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"{BATCH_MARK}{i} $l\"; done &\n"
        );
    }
    all + "wait\n"
}

/// [`stop_batch`], with `then` (when given) run alongside in its own
/// subshell (a monitoring slice needs no wait for the processes to end);
/// its output is held until the stops are done, then printed after a mark,
/// and the shell exits with its status. When a stop fails, the shell exits
/// with that status before the mark. [`split_with`] parts the output.
pub fn stop_batch_with(ps: &[ProcessRecord], grace: Duration, then: Option<&str>) -> String {
    let stops = stop_batch(ps, grace);
    match then {
        None => format!("(\n{stops})\nf=$?\n[ $f = 0 ] || exit $f\necho {THEN_MARK}\n"),
        Some(then) => format!(
            "(\n{stops})&\n_w=$!\n_o=$(\n{then}\n)\n_r=$?\nwait $_w; f=$?\n[ $f = 0 ] || exit $f\n\
             echo {THEN_MARK}\nprintf '%s\\n' \"$_o\"\nexit $_r\n"
        ),
    }
}

const THEN_MARK: &str = "@@ebpf-perf-then@@";

/// The stops' output and `then`'s of [`stop_batch_with`]; `None` when a
/// stop failed.
pub fn split_with(stdout: &str) -> Option<(&str, &str)> {
    let mark = format!("{THEN_MARK}\n");
    if let Some(rest) = stdout.strip_prefix(&mark) {
        return Some(("", rest));
    }
    stdout.split_once(&format!("\n{mark}"))
}

/// The outputs of [`stop_batch`] for `n` processes, in order.
pub fn split_stops(stdout: &str, n: usize) -> Vec<String> {
    if n < 2 {
        return split_outputs(stdout)
            .into_iter()
            .map(str::to_string)
            .collect();
    }
    let mut outs = vec![String::new(); n];
    for line in stdout.lines() {
        let Some((i, rest)) = line
            .strip_prefix(BATCH_MARK)
            .and_then(|t| t.split_once(' '))
        else {
            continue;
        };
        if let Some(o) = i.parse::<usize>().ok().and_then(|i| outs.get_mut(i)) {
            o.push_str(rest);
            o.push('\n');
        }
    }
    outs
}

/// Like [`batch`], then `then` (when given) in its own subshell, but only
/// when every script exited 0; otherwise the shell exits with the last
/// failure's status.
pub fn batch_then(scripts: &[String], then: Option<&str>) -> String {
    let mut all = String::from("f=0\n");
    for s in scripts {
        all += &format!("echo {BATCH_MARK}\n(\n{s}) || f=$?\n");
    }
    all += &format!("[ $f = 0 ] || exit $f\necho {BATCH_MARK}\n");
    if let Some(then) = then {
        all += &format!("(\n{then}\n)\n");
    }
    all
}

const BATCH_MARK: &str = "@@ebpf-perf-batch@@";

/// The outputs of the scripts of a [`batch`], in order.
pub fn split_outputs(stdout: &str) -> Vec<&str> {
    stdout.split(&format!("{BATCH_MARK}\n")).skip(1).collect()
}

/// Script that returns once a recorded process has exited: checked every
/// 0.1 s for the first `settle` (its expected run time, so that a waiting
/// loop adds little work to the host while it measures), then every 5 ms.
pub fn wait_script(p: &ProcessRecord, settle: Duration) -> String {
    let coarse = settle.as_millis() / 100;
    format!(
        "p={pid}; t={start}\n\
         {ALIVE_FN}\n\
         i=0; while [ $i -lt {coarse} ] && alive $p $t; do sleep 0.1; i=$((i+1)); done\n\
         while alive $p $t; do sleep 0.005; done\n",
        pid = p.pid,
        start = p.start_time
    )
}

#[cfg(test)]
mod tests;
