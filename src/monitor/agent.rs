//! The monitor agent that runs on a host (binary `ebpf-perf-monitor`): one
//! long-lived process that samples /proc and /sys once per interval and
//! appends timestamped lines to its files, without spawning anything.
//!
//! Tool files (with `--pid`): CPU % and context switches of the tool's
//! process tree (all threads and children), VSZ, RSS and open fds, output
//! log size, and for every BPF program fd
//! the tree holds: prog id, type, cumulative run_time_ns and run_cnt.
//! Host files: total and per-CPU busy %, softirq share, memory, counters of
//! the named interfaces, disk I/O.

use crate::host::proc::{
    bpf_progs, cpu_times, ctx_switches, disks, fd_count, meminfo, stat_fields, status_kb, tree,
    DiskCounters,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to watch and where to write.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dir: PathBuf,
    pub ts: String,
    pub interval: Duration,
    /// The tool's recorded PID and start time (its process group leader).
    pub tool: Option<(u32, u64)>,
    pub log: Option<PathBuf>,
    pub ifaces: Vec<String>,
    pub cpu: bool,
    pub memory: bool,
    pub log_size: bool,
    pub bpf: bool,
    pub host: bool,
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` in UTC, from the real-time clock.
pub fn now_stamp() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:09}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

fn iface_counters(iface: &str) -> Option<[u64; 6]> {
    let base = Path::new("/sys/class/net").join(iface).join("statistics");
    let r = |n: &str| {
        fs::read_to_string(base.join(n))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    };
    Some([
        r("rx_packets")?,
        r("tx_packets")?,
        r("rx_bytes")?,
        r("tx_bytes")?,
        r("rx_dropped")?,
        r("tx_dropped")?,
    ])
}

struct Out(fs::File);

impl Out {
    fn open(dir: &Path, name: &str, ts: &str) -> std::io::Result<Out> {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}_{ts}.log")))
            .map(Out)
    }
    fn line(&mut self, s: &str) {
        let _ = self.0.write_all(s.as_bytes());
    }
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Samples until killed.
pub fn run(o: &Options) -> std::io::Result<()> {
    fs::create_dir_all(&o.dir)?;
    let tool = o.tool.filter(|_| o.cpu || o.memory || o.bpf || o.log_size);
    let open = |on: bool, name: &str| on.then(|| Out::open(&o.dir, name, &o.ts)).transpose();
    let mut f_cpu = open(tool.is_some() && o.cpu, "tool_cpu_usage")?;
    let mut f_mem = open(tool.is_some() && o.memory, "tool_memory")?;
    let mut f_log = open(o.log.is_some() && o.log_size, "tool_logsize")?;
    let mut f_bpf = open(tool.is_some() && o.bpf, "bpf_prog_stats")?;
    let mut f_host = open(o.host, "cpu_mem")?;
    let mut f_net = open(o.host && !o.ifaces.is_empty(), "network_stats")?;
    let mut f_disk = open(o.host, "disk_io")?;
    let tck = clk_tck();
    let mut prev_tool: Option<(Instant, u64)> = None;
    let mut prev_cpu: Option<Vec<(String, u64, u64, u64)>> = None;
    let mut prev_net: BTreeMap<String, (Instant, [u64; 6])> = BTreeMap::new();
    let mut prev_disk: Option<(Instant, Vec<DiskCounters>)> = None;
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        let ts = now_stamp();
        if let Some((pid, start)) = tool {
            let alive = stat_fields(pid).is_some_and(|f| {
                f.get(19).and_then(|s| s.parse::<u64>().ok()) == Some(start) && f[0] != "Z"
            });
            if alive {
                let pids = tree(pid);
                let mut ticks = 0u64;
                let mut threads = 0u64;
                for p in &pids {
                    if let Some(f) = stat_fields(*p) {
                        let n =
                            |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
                        // utime + stime, plus the times of children it waited for.
                        ticks += n(11) + n(12) + n(13) + n(14);
                        threads += n(17);
                    }
                }
                if let Some(f) = f_cpu.as_mut() {
                    let pct = prev_tool
                        .map(|(t0, k0)| {
                            100.0 * (ticks.saturating_sub(k0)) as f64
                                / tck
                                / now.duration_since(t0).as_secs_f64()
                        })
                        .map(|p| format!("{p:.2}"))
                        .unwrap_or_else(|| "-".into());
                    let ctxt: u64 = pids.iter().map(|p| ctx_switches(*p)).sum();
                    f.line(&format!(
                        "{ts} cpu_percent={pct} cpu_ticks={ticks} processes={} threads={threads} ctxt={ctxt}\n",
                        pids.len()
                    ));
                }
                prev_tool = Some((now, ticks));
                if let Some(f) = f_mem.as_mut() {
                    let vsz: u64 = pids.iter().map(|p| status_kb(*p, "VmSize:")).sum();
                    let rss: u64 = pids.iter().map(|p| status_kb(*p, "VmRSS:")).sum();
                    let fds: u64 = pids.iter().map(|p| fd_count(*p)).sum();
                    f.line(&format!("{ts} vsz_kb={vsz} rss_kb={rss} fds={fds}\n"));
                }
                if let Some(f) = f_bpf.as_mut() {
                    let mut s = String::new();
                    for p in bpf_progs(&pids).values() {
                        let _ = writeln!(
                            s,
                            "{ts} prog_id={} type={} tag={} run_time_ns={} run_cnt={}",
                            p.id, p.prog_type, p.tag, p.run_time_ns, p.run_cnt
                        );
                    }
                    f.line(&s);
                }
            }
        }
        if let (Some(f), Some(log)) = (f_log.as_mut(), &o.log) {
            let bytes = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
            f.line(&format!("{ts} bytes={bytes}\n"));
        }
        if let Some(f) = f_host.as_mut() {
            let cur = cpu_times();
            let mut s = ts.clone();
            if let Some(prev) = &prev_cpu {
                for ((name, b, si, t), (_, b0, si0, t0)) in cur.iter().zip(prev) {
                    let dt = t.saturating_sub(*t0).max(1) as f64;
                    let _ = write!(
                        s,
                        " {name}_busy={:.2} {name}_softirq={:.2}",
                        100.0 * b.saturating_sub(*b0) as f64 / dt,
                        100.0 * si.saturating_sub(*si0) as f64 / dt
                    );
                }
            }
            let (total, avail) = meminfo();
            let _ = writeln!(
                s,
                " mem_total_kb={total} mem_available_kb={avail} mem_used_kb={}",
                total.saturating_sub(avail)
            );
            f.line(&s);
            prev_cpu = Some(cur);
        }
        if let Some(f) = f_net.as_mut() {
            let mut s = String::new();
            for i in &o.ifaces {
                let Some(c) = iface_counters(i) else { continue };
                let rates = prev_net.get(i).map(|(t0, c0)| {
                    let dt = now.duration_since(*t0).as_secs_f64().max(1e-6);
                    (
                        c[0].saturating_sub(c0[0]) as f64 / dt,
                        c[1].saturating_sub(c0[1]) as f64 / dt,
                        c[2].saturating_sub(c0[2]) as f64 / dt,
                        c[3].saturating_sub(c0[3]) as f64 / dt,
                    )
                });
                let r = rates
                    .map(|(a, b, c2, d)| {
                        format!(" rx_pps={a:.1} tx_pps={b:.1} rx_Bps={c2:.0} tx_Bps={d:.0}")
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "{ts} iface={i} rx_packets={} tx_packets={} rx_bytes={} tx_bytes={} rx_dropped={} tx_dropped={}{r}",
                    c[0], c[1], c[2], c[3], c[4], c[5]
                );
                prev_net.insert(i.clone(), (now, c));
            }
            f.line(&s);
        }
        if let Some(f) = f_disk.as_mut() {
            let cur = disks();
            let mut s = String::new();
            if let Some((t0, prev)) = &prev_disk {
                let dt = now.duration_since(*t0).as_secs_f64().max(1e-6);
                for (name, r, w, io) in &cur {
                    if let Some((_, r0, w0, io0)) = prev.iter().find(|d| &d.0 == name) {
                        let _ = writeln!(
                            s,
                            "{ts} disk={name} read_kBps={:.1} write_kBps={:.1} iops={:.1}",
                            r.saturating_sub(*r0) as f64 * 0.5 / dt,
                            w.saturating_sub(*w0) as f64 * 0.5 / dt,
                            io.saturating_sub(*io0) as f64 / dt
                        );
                    }
                }
            }
            f.line(&s);
            prev_disk = Some((now, cur));
        }
        next += o.interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_have_the_log_format() {
        let s = now_stamp();
        assert_eq!(s.len(), 29, "{s}");
        assert_eq!(&s[4..5], "-");
        assert_eq!(&s[10..11], " ");
        assert_eq!(&s[19..20], ".");
        // Same second as chrono's (allowing a tick).
        let c = chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string();
        assert!(s.starts_with(&c[..13]), "{s} vs {c}");
    }

    #[test]
    fn own_tree_and_memory_are_read() {
        let me = std::process::id();
        assert!(tree(me).contains(&me));
        assert!(status_kb(me, "VmRSS:") > 0);
        // This test process has stdin/out/err open and has been scheduled.
        assert!(fd_count(me) >= 3);
        assert!(ctx_switches(me) > 0);
        assert!(!cpu_times().is_empty());
    }
}
