//! The one reader of `/proc`: a process's stat fields and start time, its
//! tree of descendants, its memory and BPF program fds, and the host's CPU,
//! memory and disk counters. Each reader has a `*_of` twin that parses a
//! text, so that recorded real files test it. The monitor agent, the
//! leftovers sweep, the tests and the benches all read `/proc` through here.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Fields after the `(comm)` of /proc/PID/stat (field 3 is index 0).
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    stat_fields_of(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// [`stat_fields`] of a /proc/PID/stat text (`comm` may hold spaces and `)`).
pub fn stat_fields_of(s: &str) -> Option<Vec<String>> {
    let rest = s.rsplit_once(") ")?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The tool's process tree: the leader and every descendant, via
/// /proc/PID/task/TID/children.
pub fn tree(root: u32) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                if let Ok(c) = fs::read_to_string(t.path().join("children")) {
                    out.extend(c.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
                }
            }
        }
        i += 1;
    }
    out
}

pub fn status_kb(pid: u32, key: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Open file descriptors of a process (entries of /proc/PID/fd; 0 when
/// unreadable).
pub fn fd_count(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// Voluntary plus involuntary context switches of every thread of a
/// process (each thread's own /proc/PID/task/TID/status).
pub fn ctx_switches(pid: u32) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("status")).ok())
        .map(|s| ctx_switches_of(&s))
        .sum()
}

/// The context switches a status file counts.
pub fn ctx_switches_of(status: &str) -> u64 {
    status
        .lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches:")
                || l.starts_with("nonvoluntary_ctxt_switches:")
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// One BPF program held by the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prog {
    pub id: u64,
    pub prog_type: String,
    pub tag: String,
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

pub fn bpf_progs(pids: &[u32]) -> BTreeMap<u64, Prog> {
    let mut out = BTreeMap::new();
    for pid in pids {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let is_prog = fs::read_link(fd.path())
                .is_ok_and(|l| l.to_string_lossy() == "anon_inode:bpf-prog");
            if !is_prog {
                continue;
            }
            let Ok(info) = fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            )) else {
                continue;
            };
            let p = prog_of(&info);
            out.insert(p.id, p);
        }
    }
    out
}

/// A BPF program from its /proc/PID/fdinfo text; missing fields are 0.
pub fn prog_of(info: &str) -> Prog {
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Prog {
        id: field("prog_id:").parse().unwrap_or(0),
        prog_type: field("prog_type:"),
        tag: field("prog_tag:"),
        run_time_ns: field("run_time_ns:").parse().unwrap_or(0),
        run_cnt: field("run_cnt:").parse().unwrap_or(0),
    }
}

/// Per-CPU (user+nice+system+irq+softirq+steal, softirq, total) jiffies.
pub fn cpu_times() -> Vec<(String, u64, u64, u64)> {
    cpu_times_of(&fs::read_to_string("/proc/stat").unwrap_or_default())
}

/// [`cpu_times`] of a /proc/stat text; short or odd lines are skipped.
pub fn cpu_times_of(s: &str) -> Vec<(String, u64, u64, u64)> {
    s.lines()
        .filter(|l| l.starts_with("cpu"))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let v: Vec<u64> = f.filter_map(|x| x.parse().ok()).collect();
            if v.len() < 8 {
                return None;
            }
            let sum = |ix: &[usize]| ix.iter().fold(0u64, |a, &i| a.saturating_add(v[i]));
            let busy = sum(&[0, 1, 2, 5, 6, 7]);
            let total = busy.saturating_add(sum(&[3, 4]));
            Some((name, busy, v[6], total))
        })
        .collect()
}

pub fn meminfo() -> (u64, u64) {
    meminfo_of(&fs::read_to_string("/proc/meminfo").unwrap_or_default())
}

/// (MemTotal, MemAvailable) in kB of a /proc/meminfo text; 0 when missing.
pub fn meminfo_of(s: &str) -> (u64, u64) {
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0u64)
    };
    (get("MemTotal:"), get("MemAvailable:"))
}

/// Start time of a process, in clock ticks after boot (field 22 of
/// /proc/PID/stat); `pid` may be `self`.
pub fn start_time(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_fields_of(&stat)?.get(19)?.parse().ok()
}

/// The process state letter of a PID (`R`, `S`, `Z`, ...), if it exists.
pub fn state(pid: u32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// The parent PID of a process.
pub fn ppid(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Does `pid` run (not a zombie), and is it the process that started at
/// `start` (not a reused PID)?
pub fn runs_as(pid: u32, start: u64) -> bool {
    stat_fields(pid).is_some_and(|f| {
        f.first().map(String::as_str) != Some("Z") && f.get(19) == Some(&start.to_string())
    })
}

/// Does `pid` run (exists and is not a zombie)?
pub fn runs(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z')
}

/// Every PID of this machine's process table.
pub fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The arguments of a process (empty when it is gone or a kernel thread).
pub fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// On-CPU nanoseconds of a process's threads (/proc/PID/task/*/schedstat),
/// precise where clock ticks are not.
pub fn on_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let s = fs::read_to_string(t.path().join("schedstat")).ok()?;
            s.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// User+system CPU ticks of one process (fields 14-17: utime, stime,
/// cutime, cstime).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    Some(
        [11, 12, 13, 14]
            .iter()
            .filter_map(|&i| f.get(i)?.parse::<u64>().ok())
            .sum(),
    )
}

/// A whole disk's counters: (name, sectors read, sectors written, I/Os).
pub type DiskCounters = (String, u64, u64, u64);

/// Whole disks of /proc/diskstats.
pub fn disks() -> Vec<DiskCounters> {
    diskstats_of(
        &fs::read_to_string("/proc/diskstats").unwrap_or_default(),
        |name| Path::new("/sys/block").join(name).exists(),
    )
}

/// Whole disks of a /proc/diskstats text (`is_disk`: is it in /sys/block?).
pub fn diskstats_of(s: &str, is_disk: impl Fn(&str) -> bool) -> Vec<DiskCounters> {
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 14 {
                return None;
            }
            let name = f[2].to_string();
            if name.starts_with("loop") || name.starts_with("ram") || !is_disk(&name) {
                return None;
            }
            let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
            Some((name, n(5), n(9), n(3).saturating_add(n(7))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn context_switches_are_voluntary_plus_involuntary() {
        let status =
            "Name:\tbpftrace\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(super::ctx_switches_of(status), 127);
        assert_eq!(super::ctx_switches_of("Name:\tx\n"), 0);
    }
}

/// The BPF programs a set of processes holds: loaded (`bpf-prog` fds) and
/// attached (a `bpf_link` fd, or a `perf_event` fd that the kernel says a
/// program is set on: `BPF_TASK_FD_QUERY`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bpf {
    pub loaded: usize,
    pub attached: usize,
}

/// `bpf(BPF_TASK_FD_QUERY)` on `pid`'s `fd`: the id of the program attached
/// to that perf event, if one is.
fn attached_prog(pid: u32, fd: u32) -> Option<u32> {
    #[repr(C)]
    #[derive(Default)]
    struct TaskFdQuery {
        pid: u32,
        fd: u32,
        flags: u32,
        buf_len: u32,
        buf: u64,
        prog_id: u32,
        fd_type: u32,
        probe_offset: u64,
        probe_addr: u64,
    }
    const BPF_TASK_FD_QUERY: libc::c_long = 20;
    let mut q = TaskFdQuery {
        pid,
        fd,
        ..Default::default()
    };
    // SAFETY: the attribute is a plain, fully initialized struct of the
    // size passed; the kernel writes only within it (buf_len is 0).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_TASK_FD_QUERY,
            &mut q as *mut TaskFdQuery,
            std::mem::size_of::<TaskFdQuery>() as libc::c_uint,
        )
    };
    (rc == 0 && q.prog_id != 0).then_some(q.prog_id)
}

/// What BPF `pids` hold now (see [`Bpf`]).
pub fn bpf_state(pids: &[u32]) -> Bpf {
    let mut b = Bpf::default();
    for &pid in pids {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = fs::read_link(fd.path()) else {
                continue;
            };
            match link.to_string_lossy().as_ref() {
                "anon_inode:bpf-prog" => b.loaded += 1,
                "anon_inode:bpf_link" => b.attached += 1,
                "anon_inode:[perf_event]" => {
                    let n = fd.file_name().to_string_lossy().parse::<u32>().ok();
                    if n.and_then(|n| attached_prog(pid, n)).is_some() {
                        b.attached += 1;
                    }
                }
                _ => {}
            }
        }
    }
    b
}
