//! The snippets of the run stage and of the host operations, one function
//! each: what they do is said here, their values are quoted here, and the
//! callers only send them. Scripts that print something for the caller say
//! what in their doc.

use super::process::{ALIVE_FN, BOOT_ID, CLOCK_FN};
use super::quote;
use std::time::Duration;

/// Every word quoted, joined by spaces.
fn words<S: AsRef<str>>(ws: &[S]) -> String {
    ws.iter()
        .map(|w| quote(w.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------ files and dirs

/// Creates directories (and their parents).
pub fn mkdir_p<S: AsRef<str>>(dirs: &[S]) -> String {
    format!("mkdir -p -- {}", words(dirs))
}

/// Writes `text` and a newline to the file at `path`.
pub fn write_text(path: &str, text: &str) -> String {
    format!("printf '%s\\n' {} > {}", quote(text), quote(path))
}

/// Prints a file.
pub fn cat(path: &str) -> String {
    format!("cat -- {}", quote(path))
}

/// Prints the last `bytes` bytes of a file.
pub fn tail_bytes(path: &str, bytes: u32) -> String {
    format!("tail -c {bytes} {}", quote(path))
}

/// Removes a file.
pub fn rm_f(path: &str) -> String {
    format!("rm -f -- {}", quote(path))
}

/// Makes a file executable.
pub fn chmod_exec(path: &str) -> String {
    format!("chmod 755 {}", quote(path))
}

/// Enters `dir` when it exists (before it is made, commands start where
/// the login put them).
pub fn in_dir(dir: &str) -> String {
    format!("cd -- {} 2>/dev/null || :\n", quote(dir))
}

/// Enters `dir` or fails.
pub fn cd(dir: &str) -> String {
    format!("cd {} || exit 1\n", quote(dir))
}

/// Writes stdin to `path` atomically: a temporary file in the same
/// directory (made by mktemp: exclusive, unpredictable), then rename; a
/// failed write leaves neither a temporary nor a short file.
pub fn write_stdin_to(path: &str) -> String {
    let q = quote(path);
    let pattern = quote(&format!("{path}.XXXXXX")).into_owned();
    format!(
        "mkdir -p -- \"$(dirname -- {q})\" || exit 1\n\
         t=$(mktemp -- {pattern}) || exit 1\n\
         cat > \"$t\" && chmod 644 \"$t\" && mv -fT -- \"$t\" {q} || {{ rm -f -- \"$t\"; exit 1; }}"
    )
}

/// Creates `{base}` (or `{base}_N` when it exists: a directory is never
/// reused) with `subdirs` in it; prints the directory made. `guard` runs
/// before the print (see [`space_guard`]).
pub fn make_unique_dir(base: &str, subdirs: &[&str], guard: &str) -> String {
    let subs: String = match subdirs {
        [] => String::new(),
        _ => {
            let ds: Vec<String> = subdirs
                .iter()
                .map(|s| format!("\"$d\"/{}", quote(s)))
                .collect();
            format!("mkdir -p -- {} || exit 1\n", ds.join(" "))
        }
    };
    format!(
        "b={b}; d=\"$b\"; n=0; mkdir -p \"$(dirname \"$b\")\" || exit 1\n\
         until mkdir \"$d\" 2>/dev/null; do n=$((n+1)); [ $n -gt 100 ] && exit 1; d=\"${{b}}_$n\"; done\n\
         {subs}{guard}echo \"$d\"",
        b = quote(base),
    )
}

/// Shell lines that exit 3 when `dir` has less than `min_kb` free, with a
/// stderr line naming `dir` that the remote layer turns into a "no space"
/// error.
pub fn space_guard(dir: &str, min_kb: u64) -> String {
    let d = quote(dir);
    format!(
        "f=$(stat -f -c '%a %S' -- {d} 2>/dev/null) && f=$(( ${{f% *}} * ${{f#* }} / 1024 )) || f=\n\
         if [ -n \"$f\" ] && [ \"$f\" -lt {min_kb} ]; then \
         echo \"ebpf-perf: \"{d}\": No space left on device ($f kB free, a trial needs {min_kb} kB)\" >&2; exit 3; fi\n",
    )
}

/// Prints `FILES BYTES` under the directories listed in the file `list`,
/// one a line (a session's can be hundreds: more than a command line holds).
pub fn count_files(list: &str) -> String {
    let l = quote(list);
    format!(
        "echo \"$(tr '\\n' '\\0' < {l} | xargs -0 -r sh -c 'find \"$@\" -type f 2>/dev/null' _ | wc -l) \
         $(tr '\\n' '\\0' < {l} | xargs -0 -r du -sb 2>/dev/null | awk '{{s += $1}} END {{print s + 0}}')\""
    )
}

/// Packs `dir` of `parent` into a fresh archive under /tmp; prints its path.
pub fn pack(parent: &str, dir: &str) -> String {
    format!(
        "t=$(mktemp /tmp/ebpf-perf-fetch.XXXXXX.tgz) && tar czf \"$t\" -C {} {} && echo \"$t\"",
        quote(parent),
        quote(dir)
    )
}

// ------------------------------------------------------------------ commands

/// The command line actually executed: the user's shell command under
/// `timeout`, with KILL following TERM after 2 s.
pub fn with_timeout(command: &str, timeout: Duration) -> String {
    format!(
        "exec timeout -k 2 {:.3} sh -c {}",
        timeout.as_secs_f64(),
        quote(command)
    )
}

/// `command` as `shell` runs it (`exec bash -c …`); as it is for the
/// default shell (`None`), which every command of ours runs in.
pub fn in_shell(shell: Option<&str>, command: &str) -> String {
    match shell {
        Some(p) => format!("exec {} -c {}", quote(p), quote(command)),
        None => command.to_string(),
    }
}

/// `command` run on the CPUs of `cpus` (a `taskset -c` list), it and all it
/// starts; as it is without one.
pub fn pinned(command: &str, cpus: Option<&str>) -> String {
    // A simple command (words only) runs under taskset directly; anything
    // else under a shell of its own.
    let simple = !command.trim().is_empty()
        && command.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '-' | '_' | '.' | '/' | ':' | ',' | '+' | '@')
        });
    match cpus {
        Some(c) if simple => format!("exec taskset -c {} {command}", quote(c)),
        Some(c) => format!("exec taskset -c {} sh -c {}", quote(c), quote(command)),
        None => command.to_string(),
    }
}

/// `command` with its stdout and stderr going to `file`, written as `.part`
/// and renamed when the command ends; exits with the command's status.
pub fn to_output(command: &str, file: &str) -> String {
    format!(
        "o={f}; mkdir -p \"$(dirname \"$o\")\" || exit 1\n( {command}\n) >\"$o.part\" 2>&1; s=$?\n\
         mv -f \"$o.part\" \"$o\"; exit $s",
        f = quote(file)
    )
}

/// Prints a recorded process's exit status, a newline, and the last `bytes`
/// of its stderr.
pub fn status_and_stderr(status_file: &str, stderr_file: &str, bytes: u32) -> String {
    format!(
        "cat {} 2>/dev/null; echo; tail -c {bytes} {}",
        quote(status_file),
        quote(stderr_file)
    )
}

// --------------------------------------------------------------------- hosts

/// Checks the workdir is writable (prints `workdir-ok`) and prints
/// `missing TOOL` for each program not on PATH.
pub fn probe(workdir: &str, tools: &[String]) -> String {
    format!(
        "d={wd}; mkdir -p \"$d\" && t=$(mktemp \"$d/.ebpf-perf-write-test.XXXXXX\") && rm -f \"$t\" && echo workdir-ok\n\
         for t in {tools}; do command -v \"$t\" >/dev/null 2>&1 || echo \"missing $t\"; done",
        wd = quote(workdir),
        tools = words(tools)
    )
}

/// Prints the host's facts: `kernel=`, `cpus=`, `cpu_model=` lines, then per
/// interface `@nic NAME` (ethtool -i) and `@offload NAME` (ethtool -k)
/// sections, then `@sysctl` and the net.* sysctls, then (where bpftool is)
/// `@bpf` and the BPF program types the kernel offers, one per line. The
/// probe takes a third of a second, and what a kernel offers is fixed while
/// it runs, so its answer is kept in `cache_dir` per boot and release.
pub fn host_facts(ifaces: &[String], cache_dir: &str) -> String {
    let mut s = String::from(
        "echo \"kernel=$(uname -r)\"; echo \"cpus=$(nproc)\"; \
         echo \"cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)\"\n",
    );
    for i in ifaces {
        let q = quote(i);
        s += &format!("echo @nic {q}; ethtool -i {q} 2>/dev/null; echo @offload {q}; ethtool -k {q} 2>/dev/null\n");
    }
    s += "echo @sysctl; sysctl -a 2>/dev/null | grep '^net\\.' || true\n";
    s + &format!(
        "if command -v bpftool >/dev/null 2>&1; then \
         c={}/.bpf_program_types_$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)_$(uname -r); \
         if ! [ -s \"$c\" ]; then bpftool feature probe kernel 2>/dev/null \
         | sed -n 's/^eBPF program_type \\([a-z0-9_]*\\) is available$/\\1/p' > \"$c.$$\"; \
         mv -f \"$c.$$\" \"$c\"; fi; echo @bpf; cat \"$c\" 2>/dev/null || true; fi\n",
        quote(cache_dir)
    )
}

/// The lab's sshd for namespace `netns`: tracefs, debugfs and bpffs
/// mounted (`ip netns exec` gives a fresh /sys without them, and eBPF tools
/// need them), then sshd in the foreground with `config`.
pub fn lab_sshd(netns: &str, config: &str) -> String {
    let inner = format!(
        "mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; \
         mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug; \
         mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; \
         exec /usr/sbin/sshd -D -e -f {}",
        quote(config)
    );
    format!(
        "exec ip netns exec {} sh -c {}",
        quote(netns),
        quote(&inner)
    )
}

// ------------------------------------------------------------------- leases

/// Lists recorded processes under `root` that have no exit status and still
/// run: `left PIDFILE PID STARTTIME BOOTID` lines (`-` for no boot id);
/// records of an earlier boot are not ours any more.
pub fn list_left(root: &str, only_ebpf: bool) -> String {
    let names = if only_ebpf {
        "-name 'ebpf_pid_*.txt'"
    } else {
        "\\( -name '*.pid' -o -name 'ebpf_pid_*.txt' \\)"
    };
    format!(
        "{ALIVE_FN}\nnow=$({BOOT_ID})\nfind {} -type f {names} 2>/dev/null | while IFS= read -r f; do\n\
         [ -f \"$f.exit\" ] && continue\n\
         read -r p t b _ < \"$f\" 2>/dev/null || continue\n\
         [ -n \"$b\" ] && [ \"$b\" != \"$now\" ] && continue\n\
         alive \"$p\" \"$t\" && echo \"left $f $p $t ${{b:--}}\"\n\
         done; true\n",
        quote(root)
    )
}

/// Creates the lease only if there is none (a hard link of a complete file
/// is atomic and fails when the name exists): prints `taken`, or `held` and
/// the lease that is there, or `bad` when a directory or a symlink stands at
/// its name (into which a link would always succeed).
pub fn lease_create(lease: &str, text: &str) -> String {
    format!(
        "l={l}; t=\"$l.new.$$\"\n\
         if [ -d \"$l\" ] || [ -L \"$l\" ]; then echo bad; exit 0; fi\n\
         mkdir -p \"$(dirname \"$l\")\" || exit 1\n\
         printf '%s' {text} > \"$t\" || {{ rm -f \"$t\"; exit 1; }}\n\
         if ln -T \"$t\" \"$l\" 2>/dev/null; then rm -f \"$t\"; echo taken; exit 0; fi\n\
         rm -f \"$t\"; echo held; cat \"$l\" 2>/dev/null; true\n",
        l = quote(lease),
        text = quote(text),
    )
}

/// Removes the lease only if it still is `expected` (moved aside first, so
/// that of two runs taking over the same stale lease only one removes it,
/// and a lease taken meanwhile is put back).
pub fn lease_remove_if(lease: &str, expected: &str) -> String {
    format!(
        "l={l}; m=\"$l.takeover.$$\"\n\
         mv -fT \"$l\" \"$m\" 2>/dev/null || exit 0\n\
         if [ \"$(cat \"$m\")\" = {e} ]; then rm -f \"$m\"; else ln \"$m\" \"$l\" 2>/dev/null; rm -f \"$m\"; fi\n",
        l = quote(lease),
        e = quote(expected.trim_end()),
    )
}

/// Removes the lease if it holds `mine`: as [`lease_remove_if`] does, so
/// that a lease another run took between the read and the removal stays.
pub fn lease_release(lease: &str, mine: &str) -> String {
    lease_remove_if(lease, mine.trim())
}

// --------------------------------------------------------------- perf tests

/// The start of a script that waits for servers: defines `ready PORT
/// PIDFILE LOG`, which returns once the port listens, and fails with the tail
/// of LOG when the server (recorded in PIDFILE) exits, or after `timeout_s`.
/// (`ss` asks the kernel by netlink; reading /proc/net/tcp with the shell's
/// `read`, a byte per system call, took longer once a host had many
/// sockets in TIME_WAIT.)
pub fn ready_prelude(timeout_s: u32) -> String {
    format!(
        "{ALIVE_FN}\n{CLOCK_FN}\ncs; end=$((_c + {timeout_s}00))\n\
         ready() {{ read -r _p _st _b <\"$2\" || {{ echo \"no pid file $2\" >&2; exit 2; }}\n\
         until [ -n \"$(ss -Hltn \"sport = :$1\")\" ]; do\n\
         alive \"$_p\" \"$_st\" || {{ echo \"the server for port $1 exited right after starting:\" >&2; tail -c 1000 \"$3\" >&2; exit 2; }}\n\
         cs; [ $_c -ge $end ] && {{ echo \"port $1 is not listening after {timeout_s} s\" >&2; exit 1; }}; sleep 0.005; done\n\
         alive \"$_p\" \"$_st\" || {{ echo \"the server for port $1 exited after it listened:\" >&2; tail -c 1000 \"$3\" >&2; exit 2; }}; }}\n",
    )
}

/// Waits for the server on `port` started with `pid_file` (see
/// [`ready_prelude`]).
pub fn ready(port: u16, pid_file: &str, log: &str) -> String {
    format!("ready {port} {} {}\n", quote(pid_file), quote(log))
}

/// The clients of a run, in `dir`, all started at once, then waited for:
/// stream S (1-based) writes its exit status to `stream_S.rc`, its stderr to
/// `stream_S.err`, and its stdout to `stream_S.EXT.part` (or, when its
/// command writes its own result file, to `stream_S.stdout`). `commands`
/// are rendered templates, shell text already.
pub fn clients(dir: &str, commands: &[(String, bool)], ext: &str) -> String {
    let mut script = cd(dir);
    for (i, (cmd, writes_own_file)) in commands.iter().enumerate() {
        let s = i + 1;
        let stdout = if *writes_own_file {
            format!("stream_{s}.stdout")
        } else {
            format!("stream_{s}.{ext}.part")
        };
        script += &format!("( {cmd}\n  echo $? > stream_{s}.rc ) > {stdout} 2> stream_{s}.err &\n");
    }
    script + "wait\n"
}

/// In `dir`, after `guard`: renames each stream's `.part` output in place,
/// then prints per stream `\nMARK S rc STATUS@@\n` and its output (its
/// stderr to stderr).
pub fn collect_streams(dir: &str, n: usize, ext: &str, mark: &str, guard: &str) -> String {
    let mut s = cd(dir) + guard;
    for k in 1..=n {
        s += &format!(
            "[ -f stream_{k}.{ext}.part ] && mv -f stream_{k}.{ext}.part stream_{k}.{ext}\n"
        );
    }
    for k in 1..=n {
        s += &format!(
            "r=; {{ read -r r <stream_{k}.rc; }} 2>/dev/null; printf '\\n{mark} {k} rc %s@@\\n' \"$r\"; \
             cat stream_{k}.{ext}; [ ! -s stream_{k}.err ] || cat stream_{k}.err >&2\n"
        );
    }
    s
}

/// After `guard`, renames `file.part` to `file` and prints it.
pub fn publish_and_cat(file: &str, guard: &str) -> String {
    let part = quote(&format!("{file}.part")).into_owned();
    let f = quote(file);
    format!("{guard}mv -f {part} {f} && cat {f}")
}

#[cfg(test)]
mod tests;
