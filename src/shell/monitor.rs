//! The snippets that watch hosts: the monitor agent's deployment and
//! command line, the cutting of its case-long files to a run's window, and
//! the CPU sample of the quiet-host check.

use super::quote;

/// Makes the framework's own directory `own` (0700), prints the machine
/// (`uname -m`), then `present` if `agent` is there, executable, with the
/// SHA-256 `sha256`.
///
/// The agent runs later than it is checked, so no one else may be able to
/// swap it in between: `own` must not be a symlink, and it and every
/// directory above it, as written and as resolved, must belong to root or
/// the login user and be writable by no one else (unless sticky, as /tmp
/// is, where others cannot move what is ours). Otherwise the script exits
/// 3 and says which directory and what to do.
pub fn agent_probe(own: &str, agent: &str, sha256: &str) -> String {
    let (d, a) = (quote(own), quote(agent));
    format!(
        "d={d}; me=$(id -u)\n\
         safe() {{ x=$1; while :; do\n\
           set -- $(stat -L -c '%u %a' -- \"$x\" 2>/dev/null); [ $# = 2 ] || {{ echo \"cannot stat $x\" >&2; exit 3; }}\n\
           case $1 in 0|\"$me\") ;; *) echo \"$x belongs to uid $1, neither root nor this login ($me): the monitor agent would run from a directory another user controls; choose a workdir that root or $me owns\" >&2; exit 3;; esac\n\
           if [ $((0$2 & 022)) != 0 ] && [ $((0$2 & 01000)) = 0 ]; then echo \"$x is writable by others (mode $2): another user could swap the monitor agent before it runs; chmod go-w it, or choose another workdir\" >&2; exit 3; fi\n\
           [ \"$x\" = / ] && return 0; x=$(dirname -- \"$x\"); done; }}\n\
         [ -L \"$d\" ] && {{ echo \"$d is a symlink; the monitor agent is never put through one (remove it)\" >&2; exit 3; }}\n\
         mkdir -p -- \"$d\" && chmod 700 -- \"$d\" || exit 1\n\
         safe \"$d\"; safe \"$(cd -P -- \"$d\" && pwd -P)\"\n\
         uname -m\n\
         if test -x {a} && [ \"$(sha256sum -- {a} | cut -d' ' -f1)\" = {h} ]; then echo present; fi",
        h = quote(sha256)
    )
}

/// The monitor agent's command line for the host's files; add
/// [`agent_tool_args`] to watch a tool too.
pub fn agent_cmd(agent: &str, ts: &str, host_dir: &str, iface: &str) -> String {
    format!(
        "exec {} --ts {} --host-dir {} --iface {}",
        quote(agent),
        quote(ts),
        quote(host_dir),
        quote(iface)
    )
}

/// The agent of a tool episode: it watches only the tool.
pub fn agent_tool_cmd(agent: &str, ts: &str, dir: &str, pid: u32, start: u64, log: &str) -> String {
    format!(
        "exec {} --ts {}{}",
        quote(agent),
        quote(ts),
        agent_tool_args(dir, pid, start, log)
    )
}

/// The agent's arguments that watch a tool: its files' directory, its
/// recorded PID and start time, and its log.
pub fn agent_tool_args(dir: &str, pid: u32, start: u64, log: &str) -> String {
    format!(
        " --tool-dir {} --tool {pid} {start} --log {}",
        quote(dir),
        quote(log)
    )
}

/// What [`slices`] cuts: `name` (printed after the mark), `src` (a
/// case-long file), and `dst`, where its window is written; without `dst`,
/// only the first line of `src` is printed.
pub struct Slice<'a> {
    pub name: &'a str,
    pub src: &'a str,
    pub dst: Option<&'a str>,
}

/// The awk program of [`slices`]: for each file, `MARK NAME`, then the
/// lines from the last sample before `a` to `b` (a sample is the lines that
/// share a timestamp, the first two fields), also written to its staged
/// destination. Files that do not exist print the mark only.
const SLICE_AWK: &str = r#"BEGIN {
  n = split(ENVIRON["SL_SRC"], S, "\n"); split(ENVIRON["SL_DST"], D, "\n"); split(ENVIRON["SL_NAME"], N, "\n")
  a = ENVIRON["SL_A"]; b = ENVIRON["SL_B"]; bad = 0
  for (i = 1; i <= n; i++) {
    print ENVIRON["SL_MARK"] " " N[i]
    if ((r = (getline line < S[i])) < 0) continue
    d = D[i]
    if (d == "-") { if (r > 0) print line; close(S[i]); continue }
    printf "" > d; buf = ""; pt = ""
    while (r > 0) {
      split(line, f, " "); t = f[1] " " f[2]
      if (t < a) { if (t != pt) buf = ""; buf = buf line ORS; pt = t }
      else if (t <= b) { printf "%s%s%s", buf, line, ORS; printf "%s%s%s", buf, line, ORS > d; buf = "" }
      r = (getline line < S[i])
    }
    close(S[i]); if (close(d) < 0) bad = 1
  }
  exit bad
}"#;

/// A script that cuts monitor files to the window from `start` to the
/// host's now (`host_now` prints it), after `guard`, in one pass of awk (a
/// process per file costs milliseconds on every run). Windows are written
/// into a staging directory `.part_{ts}` beside each destination and moved
/// in place together, so that no cut file is ever seen half written; on a
/// failure the staging directories are removed.
pub fn slices(
    mark: &str,
    start: &str,
    host_now: &str,
    guard: &str,
    ts: &str,
    files: &[Slice<'_>],
) -> String {
    let mut stages: Vec<(String, String)> = Vec::new();
    let mut dsts = Vec::new();
    for f in files {
        let Some(dst) = f.dst else {
            dsts.push("-".to_string());
            continue;
        };
        let path = std::path::Path::new(dst);
        let dir = path
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| ".".into());
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stage = format!("{dir}/.part_{ts}");
        dsts.push(format!("{stage}/{base}"));
        if !stages.iter().any(|(_, s)| *s == stage) {
            stages.push((dir, stage));
        }
    }
    let join = |v: Vec<&str>| quote(&v.join("\n")).into_owned();
    let staged: Vec<String> = stages.iter().map(|(_, s)| quote(s).into_owned()).collect();
    let mut script = format!(
        "{guard}SL_A={}; SL_B=$({host_now}); export SL_A SL_B\n",
        quote(start)
    );
    if !staged.is_empty() {
        script += &format!("mkdir -p {}\n", staged.join(" "));
    }
    script += &format!(
        "if SL_MARK={} SL_NAME={} SL_SRC={} SL_DST={} awk {}; then\n",
        quote(mark),
        join(files.iter().map(|f| f.name).collect()),
        join(files.iter().map(|f| f.src).collect()),
        join(dsts.iter().map(String::as_str).collect()),
        quote(SLICE_AWK),
    );
    for (dir, stage) in &stages {
        script += &format!(
            "  set -- {}/*; [ ! -e \"$1\" ] || mv -f \"$@\" {}/\n",
            quote(stage),
            quote(dir)
        );
    }
    if !staged.is_empty() {
        script += &format!(
            "  rmdir {}\nelse\n  rm -rf {}; exit 1\nfi\n",
            staged.join(" "),
            staged.join(" ")
        );
    } else {
        script += "  :\nelse\n  exit 1\nfi\n";
    }
    script
}

/// A script that samples the host's CPU for `sample`: prints `cpu T0 I0 O0
/// T1 I1 O1`, the total and idle ticks of /proc/stat and the CPU ticks of
/// the processes in the process groups `groups` (ours), before and after.
pub fn cpu_sample(groups: &[u32], sample: std::time::Duration) -> String {
    let gs: Vec<String> = groups.iter().map(u32::to_string).collect();
    let ours = if gs.is_empty() {
        "o=0".to_string()
    } else {
        format!(
            "o=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v gs=' {} ' \
             '{{ sub(/^.*\\) /, \"\"); if (index(gs, \" \" $3 \" \")) o += $12 + $13 }} END {{ print o + 0 }}')",
            gs.join(" ")
        )
    };
    format!(
        "snap() {{ read -r _c u n s i w q sq st _r </proc/stat; tot=$((u+n+s+i+w+q+sq+st)); idle=$((i+w)); {ours}; }}\n\
         snap; a=\"$tot $idle $o\"\nsleep {:.3}\nsnap\necho \"cpu $a $tot $idle $o\"\n",
        sample.as_secs_f64()
    )
}

/// From the output of [`cpu_sample`], in percent of all CPUs: how busy
/// the host was, and how much of it was ours.
pub fn cpu_shares(stdout: &str) -> Option<(f64, f64)> {
    let v: Vec<f64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))?
        .split_whitespace()
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [t0, i0, o0, t1, i1, o1] = v[..] else {
        return None;
    };
    let total = t1 - t0;
    if total <= 0.0 {
        return None;
    }
    let pct = |x: f64| (100.0 * x / total).clamp(0.0, 100.0);
    Some((pct(total - (i1 - i0)), pct(o1 - o0)))
}

/// The CPU busy outside our processes (see [`cpu_shares`]).
pub fn busy_outside(stdout: &str) -> Option<f64> {
    cpu_shares(stdout).map(|(busy, ours)| (busy - ours).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn sh(script: &str) -> std::process::Output {
        Command::new("sh").arg("-c").arg(script).output().unwrap()
    }

    #[test]
    fn the_agent_is_present_only_when_its_bytes_are_this_build() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join(".ebpf-perf");
        let agent = own.join("agent");
        let good = b"#!/bin/sh\necho monitor\n";
        let sha: String = sha2::Sha256::digest(good)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let probe = || {
            let (o, a) = (own.display().to_string(), agent.display().to_string());
            String::from_utf8(sh(&agent_probe(&o, &a, &sha)).stdout).unwrap()
        };
        assert!(!probe().contains("present"), "nothing there yet");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&own).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(&agent, b"#!/bin/sh\necho planted\n").unwrap();
        std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!probe().contains("present"), "other bytes at the name");
        std::fs::write(&agent, good).unwrap();
        assert!(probe().contains("present"));
    }

    /// Issue 31 (16): the agent's directory, and every one above it, is
    /// root's or ours and writable by no one else; a symlink in its place
    /// is refused. Before, `mkdir -p && chmod 700` passed them all.
    #[rstest::rstest]
    #[case::a_symlink_in_its_place("link", "is a symlink")]
    #[case::a_parent_anyone_can_write("open", "is writable by others (mode 777)")]
    #[case::a_parent_of_another_user("theirs", "belongs to uid 65534")]
    fn the_agent_directory_is_refused_where_another_user_could_swap_it(
        #[case] setup: &str,
        #[case] said: &str,
    ) {
        use std::os::unix::fs::PermissionsExt;
        if setup == "theirs" && !crate::root_or_skip("chown") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let wd = dir.path().join("wd");
        std::fs::create_dir(&wd).unwrap();
        match setup {
            "link" => {
                let elsewhere = dir.path().join("elsewhere");
                std::fs::create_dir(&elsewhere).unwrap();
                std::os::unix::fs::symlink(&elsewhere, wd.join(".ebpf-perf")).unwrap();
            }
            "open" => {
                std::fs::set_permissions(&wd, std::fs::Permissions::from_mode(0o777)).unwrap()
            }
            _ => std::os::unix::fs::chown(&wd, Some(65534), Some(65534)).unwrap(),
        }
        let own = wd.join(".ebpf-perf").display().to_string();
        let o = sh(&agent_probe(&own, &format!("{own}/agent"), "00"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains(said), "{err}");
        assert!(!String::from_utf8_lossy(&o.stdout).contains("present"));
    }

    /// Three samples a second apart, two lines each; the window from 00:01.5
    /// to 00:02.5 keeps the sample before it (00:01) and the one inside it.
    #[test]
    fn slices_cut_every_file_in_one_pass_and_leave_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        let log: String = (0..3)
            .flat_map(|s| ["x", "y"].map(|k| format!("2026-01-01 00:00:0{s}.000000000 {k}={s}\n")))
            .collect();
        std::fs::write(p("a.log"), &log).unwrap();
        std::fs::write(p("empty.log"), "").unwrap();
        std::fs::create_dir_all(p("out")).unwrap();
        let (a_dst, e_dst, m_dst) = (p("out/a_1.log"), p("out/e_1.log"), p("out/m_1.log"));
        let (a_src, e_src, m_src) = (p("a.log"), p("empty.log"), p("missing.log"));
        let files = [
            Slice {
                name: "a",
                src: &a_src,
                dst: Some(&a_dst),
            },
            Slice {
                name: "e",
                src: &e_src,
                dst: Some(&e_dst),
            },
            Slice {
                name: "m",
                src: &m_src,
                dst: Some(&m_dst),
            },
            Slice {
                name: "first",
                src: &a_src,
                dst: None,
            },
        ];
        let script = slices(
            "@@M",
            "2026-01-01 00:00:01.500000000",
            "echo '2026-01-01 00:00:02.500000000'",
            "",
            "T",
            &files,
        );
        let o = sh(&script);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let want = "2026-01-01 00:00:01.000000000 x=1\n2026-01-01 00:00:01.000000000 y=1\n\
                    2026-01-01 00:00:02.000000000 x=2\n2026-01-01 00:00:02.000000000 y=2\n";
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("@@M a\n{want}@@M e\n@@M m\n@@M first\n2026-01-01 00:00:00.000000000 x=0\n")
        );
        assert_eq!(std::fs::read_to_string(&a_dst).unwrap(), want);
        assert_eq!(std::fs::read_to_string(&e_dst).unwrap(), "");
        assert!(!std::path::Path::new(&m_dst).exists());
        let mut left: Vec<String> = std::fs::read_dir(p("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a_1.log", "e_1.log"]);
    }

    /// A busy loop in a process group of ours is counted as ours, and
    /// nothing is without groups. (It gets some CPU in half a second however
    /// loaded the machine is.)
    #[test]
    fn cpu_of_our_groups_is_told_apart() {
        let mut spin = Command::new("sh")
            .arg("-c")
            .arg("while :; do :; done")
            .process_group(0)
            .spawn()
            .unwrap();
        let sample = std::time::Duration::from_millis(500);
        let with = sh(&cpu_sample(&[spin.id()], sample));
        let without = sh(&cpu_sample(&[], sample));
        spin.kill().unwrap();
        spin.wait().unwrap();
        let (busy, ours) = cpu_shares(&String::from_utf8_lossy(&with.stdout)).unwrap();
        assert!(ours > 2.0 && ours <= busy, "ours {ours} of busy {busy}");
        let (busy2, none) = cpu_shares(&String::from_utf8_lossy(&without.stdout)).unwrap();
        assert_eq!(none, 0.0);
        assert!(busy2 > 2.0, "the loop still ran: {busy2}");
    }
}
