//! Compatibility, seed 003's last decision-matrix row: the BPF program
//! types a tool loaded say the oldest kernel it can run on. Each type of
//! the kernel's `enum bpf_prog_type` with the release that brought it, and
//! kernel versions as `major.minor` (read from `uname -r`, written in
//! `ratings:` as strings).

use std::fmt;

/// A kernel release, `major.minor` (what a feature's "since" means).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kernel {
    pub major: u32,
    pub minor: u32,
}

impl Kernel {
    pub const fn new(major: u32, minor: u32) -> Kernel {
        Kernel { major, minor }
    }

    /// The `major.minor` that a release string starts with: `6.18.44-fc`,
    /// `5.15.0-generic`, `4.19`. `None` for anything else.
    pub fn parse(release: &str) -> Option<Kernel> {
        let mut it = release.trim().splitn(3, '.');
        let major = it.next()?.parse().ok()?;
        let minor: String = it
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(Kernel::new(major, minor.parse().ok()?))
    }

    /// The release as one number that orders as releases do (4.10 after
    /// 4.9): `major × 1000 + minor`, what rating levels compare.
    pub fn level(self) -> f64 {
        f64::from(self.major) * 1000.0 + f64::from(self.minor)
    }

    /// The release a [`Kernel::level`] stands for (`None` for a number no
    /// level gives).
    pub fn of_level(v: f64) -> Option<Kernel> {
        let ok = v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e9;
        ok.then(|| Kernel::new((v / 1000.0).floor() as u32, (v % 1000.0) as u32))
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `enum bpf_prog_type` of the kernel's include/uapi/linux/bpf.h in its
/// order (index = the number `/proc/PID/fdinfo` gives as `prog_type:`),
/// named as bpftool names them, each with the release that brought it.
/// Sources: bcc's docs/kernel-versions.md ("Main features") up to 4.20 and
/// 5.2; for cgroup_sockopt (5.3), tracing (5.5), struct_ops and ext (5.6),
/// lsm (5.7), sk_lookup (5.9), syscall (5.14) and netfilter (6.4) the
/// release that merged the type into bpf.h.
pub const PROG_TYPES: [(&str, Kernel); 33] = [
    ("unspec", Kernel::new(3, 18)),
    ("socket_filter", Kernel::new(3, 19)),
    ("kprobe", Kernel::new(4, 1)),
    ("sched_cls", Kernel::new(4, 1)),
    ("sched_act", Kernel::new(4, 1)),
    ("tracepoint", Kernel::new(4, 7)),
    ("xdp", Kernel::new(4, 8)),
    ("perf_event", Kernel::new(4, 9)),
    ("cgroup_skb", Kernel::new(4, 10)),
    ("cgroup_sock", Kernel::new(4, 10)),
    ("lwt_in", Kernel::new(4, 10)),
    ("lwt_out", Kernel::new(4, 10)),
    ("lwt_xmit", Kernel::new(4, 10)),
    ("sock_ops", Kernel::new(4, 13)),
    ("sk_skb", Kernel::new(4, 14)),
    ("cgroup_device", Kernel::new(4, 15)),
    ("sk_msg", Kernel::new(4, 17)),
    ("raw_tracepoint", Kernel::new(4, 17)),
    ("cgroup_sock_addr", Kernel::new(4, 17)),
    ("lwt_seg6local", Kernel::new(4, 18)),
    ("lirc_mode2", Kernel::new(4, 18)),
    ("sk_reuseport", Kernel::new(4, 19)),
    ("flow_dissector", Kernel::new(4, 20)),
    ("cgroup_sysctl", Kernel::new(5, 2)),
    ("raw_tracepoint_writable", Kernel::new(5, 2)),
    ("cgroup_sockopt", Kernel::new(5, 3)),
    ("tracing", Kernel::new(5, 5)),
    ("struct_ops", Kernel::new(5, 6)),
    ("ext", Kernel::new(5, 6)),
    ("lsm", Kernel::new(5, 7)),
    ("sk_lookup", Kernel::new(5, 9)),
    ("syscall", Kernel::new(5, 14)),
    ("netfilter", Kernel::new(6, 4)),
];

/// The name of a program type as fdinfo gives it (a number) or as bpftool
/// does (a name); `None` for a number or name this table lacks.
pub fn prog_type(raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    let by_number = raw.parse::<usize>().ok().and_then(|i| PROG_TYPES.get(i));
    by_number
        .or_else(|| PROG_TYPES.iter().find(|(n, _)| *n == raw))
        .map(|(n, _)| *n)
}

/// The release that brought a named program type.
pub fn since(name: &str) -> Option<Kernel> {
    PROG_TYPES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// What a set of program types needs: the newest release among theirs,
/// and the type that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub kernel: Kernel,
    pub by: &'static str,
}

/// The [`Need`] of program types by name (unknown names need nothing we
/// know of); `None` when no type is known.
pub fn need<'a>(types: impl IntoIterator<Item = &'a str>) -> Option<Need> {
    types
        .into_iter()
        .filter_map(|t| PROG_TYPES.iter().find(|(n, _)| *n == t))
        .max_by_key(|(_, k)| *k)
        .map(|&(by, kernel)| Need { kernel, by })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("6.18.44-fc-v595", Some(Kernel::new(6, 18)))]
    #[case("5.15.0-generic", Some(Kernel::new(5, 15)))]
    #[case("4.19", Some(Kernel::new(4, 19)))]
    #[case("6.1.0-18-amd64\n", Some(Kernel::new(6, 1)))]
    #[case("6", None)]
    #[case("v6.1", None)]
    #[case("", None)]
    fn a_release_reads_as_major_minor(#[case] s: &str, #[case] k: Option<Kernel>) {
        assert_eq!(Kernel::parse(s), k);
    }

    #[test]
    fn levels_order_as_releases_do_and_read_back() {
        assert!(Kernel::new(4, 10).level() > Kernel::new(4, 9).level());
        assert!(Kernel::new(5, 0).level() > Kernel::new(4, 20).level());
        for k in [Kernel::new(4, 1), Kernel::new(4, 10), Kernel::new(6, 18)] {
            assert_eq!(Kernel::of_level(k.level()), Some(k));
        }
        assert_eq!(Kernel::of_level(f64::NAN), None);
        assert_eq!(Kernel::of_level(4.5), None);
    }

    #[rstest]
    // fdinfo's numbers, as the lab's bpftrace tools show them (5 and 7).
    #[case("5", Some("tracepoint"))]
    #[case("7", Some("perf_event"))]
    #[case("2", Some("kprobe"))]
    #[case("26", Some("tracing"))]
    #[case("kprobe", Some("kprobe"))]
    #[case("99", None)]
    #[case("floppy", None)]
    fn a_program_type_is_named_from_its_number_or_name(
        #[case] raw: &str,
        #[case] name: Option<&str>,
    ) {
        assert_eq!(prog_type(raw), name);
    }

    #[test]
    fn the_table_follows_the_kernels_enum_and_grows_by_release() {
        // Spot checks against include/uapi/linux/bpf.h's numbering.
        assert_eq!(PROG_TYPES[17].0, "raw_tracepoint");
        assert_eq!(PROG_TYPES[26].0, "tracing");
        assert_eq!(PROG_TYPES[32].0, "netfilter");
        assert!(PROG_TYPES.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn the_newest_type_sets_the_need() {
        let n = need(["tracepoint", "perf_event", "kprobe"]).unwrap();
        assert_eq!((n.kernel, n.by), (Kernel::new(4, 9), "perf_event"));
        assert_eq!(need(["kprobe"]).unwrap().kernel, Kernel::new(4, 1));
        assert_eq!(need(["floppy"]), None);
        assert_eq!(since("lsm"), Some(Kernel::new(5, 7)));
    }
}
