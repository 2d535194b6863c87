//! `ebpf-perf fetch` and `ebpf-perf hosts check` against the lab.

mod common;
use common::ebpf_perf;

use ebpf_perf::host::remote::{Remote, SHORT};
use std::path::Path;

/// Every file below `root` with its bytes, by relative path.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fetch_with_and_without_compress_copies_byte_for_byte() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let src = format!("/tmp/ebpf-perf-fetch-src-{}", std::process::id());
    // A tree with nesting, binary content and a 3 MB file.
    r.check(
        "host-client",
        &format!(
            "rm -rf {src} && mkdir -p {src}/a/b {src}/empty && printf 'x\\0y\\377' > {src}/a/bin && \
             echo hi > {src}/a/b/t.txt && head -c 3000000 /dev/urandom > {src}/big"
        ),
        SHORT,
    )
    .unwrap();
    let reference = tempfile::tempdir().unwrap();
    // The reference copy is taken by reading the lab host's files directly
    // (the namespaces share this machine's file system).
    let reference_tree = tree(Path::new(&src));
    assert_eq!(reference_tree.len(), 3);
    for compress in [false, true] {
        let dest = tempfile::tempdir().unwrap();
        let mut args = vec![
            "fetch",
            "--host",
            "host-client",
            "--local-dir",
            dest.path().to_str().unwrap(),
            "--remote-path",
            &src,
        ];
        if compress {
            args.push("--compress");
        }
        let o = ebpf_perf(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let name = Path::new(&src).file_name().unwrap();
        assert_eq!(
            tree(&dest.path().join(name)),
            reference_tree,
            "compress={compress}"
        );
        assert!(
            dest.path().join(name).join("empty").is_dir(),
            "compress={compress}"
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("fetched"),
            "compress={compress}"
        );
    }
    // The remote archive of --compress is removed.
    let left = r
        .exec(
            "host-client",
            "ls /tmp | grep -c '^ebpf-perf-fetch\\..*\\.tgz$' || true",
            SHORT,
        )
        .unwrap();
    assert_eq!(left.stdout.trim(), "0");
    drop(reference);
    r.check("host-client", &format!("rm -rf {src}"), SHORT)
        .unwrap();
}

#[test]
fn fetch_default_path_is_the_results_root() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let root = ebpf_perf::naming::results_root(&cfg.ssh_hosts["vm-server"].workdir);
    r.write_file("vm-server", &format!("{root}/marker.txt"), b"m")
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let o = ebpf_perf(&[
        "fetch",
        "--host",
        "vm-server",
        "--local-dir",
        dest.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(dest.path().join("performance-test-results/marker.txt")).unwrap(),
        b"m"
    );
}

#[test]
fn fetch_of_a_missing_path_names_host_and_path() {
    let Some(_) = common::lab() else { return };
    let dest = tempfile::tempdir().unwrap();
    let o = ebpf_perf(&[
        "fetch",
        "--host",
        "vm-server",
        "--local-dir",
        dest.path().to_str().unwrap(),
        "--remote-path",
        "/nonexistent/x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("vm-server") && err.contains("/nonexistent/x"),
        "{err}"
    );
}

#[test]
fn hosts_check_reports_every_host() {
    let Some(_) = common::lab() else { return };
    let o = ebpf_perf(&["hosts", "check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Both pools: the `-2` hosts are checked like the first ones.
    for h in [
        "host-server",
        "host-client",
        "vm-server",
        "vm-client",
        "host-server-2",
        "host-client-2",
        "vm-server-2",
        "vm-client-2",
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(h))
            .unwrap_or_else(|| panic!("{h} missing: {out}"));
        assert!(
            line.contains(" yes ") && line.contains("identity file") && line.contains(" ok "),
            "{line}"
        );
        assert!(line.contains("none; key known"), "{line}");
    }
}

#[test]
fn hosts_check_fails_when_a_tool_is_missing() {
    let Some(_) = common::lab() else { return };
    let dir = common::copy_dir(&common::repo().join("config"));
    let cases = dir.path().join("ebpf-cases.json");
    let text = std::fs::read_to_string(&cases).unwrap().replacen(
        "\"bpftrace -q",
        "\"no-such-ebpf-tool -q",
        1,
    );
    std::fs::write(&cases, text).unwrap();
    let o = ebpf_perf(&[
        "hosts",
        "check",
        "--config-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("host-server")).unwrap();
    assert!(line.contains("no-such-ebpf-tool"), "{out}");
}

/// Every symlink below `root` whose target resolves outside it.
fn links_out_of(root: &Path) -> Vec<String> {
    let root = root.canonicalize().unwrap();
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                let abs = p.parent().unwrap().join(t);
                if !abs.canonicalize().is_ok_and(|a| a.starts_with(&root)) {
                    out.push(p.display().to_string());
                }
            } else if m.is_dir() {
                todo.push(p);
            }
        }
    }
    out
}

/// A host whose tree holds a symlink out, and later a directory of that
/// name: neither `fetch` writes outside --local-dir, with or without
/// --compress, even when an earlier copy left such a symlink behind.
#[test]
fn fetch_never_writes_outside_the_local_dir() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let outside = tempfile::tempdir().unwrap();
    let src = format!("/tmp/ebpf-perf-fetch-hostile-{}", std::process::id());
    let o = outside.path().display();
    r.check(
        "host-client",
        &format!("rm -rf {src} && mkdir -p {src} && echo a > {src}/a && ln -s {o} {src}/link"),
        SHORT,
    )
    .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let fetch = |compress: bool| {
        let mut args = vec!["fetch", "--host", "host-client", "--remote-path", &src];
        args.extend(["--local-dir", dest.path().to_str().unwrap()]);
        if compress {
            args.push("--compress");
        }
        ebpf_perf(&args)
    };
    // Step 1: the symlink is not copied.
    for compress in [true, false] {
        let got = fetch(compress);
        assert!(got.status.success(), "{}", common::stderr(&got));
        assert!(links_out_of(dest.path()).is_empty(), "compress={compress}");
    }
    // Step 2: the host swaps the link for a directory while a symlink of
    // that name (left by an older copy) points out of the local copy.
    let base = Path::new(&src).file_name().unwrap();
    std::os::unix::fs::symlink(outside.path(), dest.path().join(base).join("link")).unwrap();
    r.check(
        "host-client",
        &format!("rm {src}/link && mkdir {src}/link && echo pwn > {src}/link/pwn"),
        SHORT,
    )
    .unwrap();
    for compress in [false, true] {
        let got = fetch(compress);
        assert!(!got.status.success(), "compress={compress}");
        assert!(
            common::stderr(&got).contains("symlink"),
            "{}",
            common::stderr(&got)
        );
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "compress={compress} wrote outside --local-dir"
        );
    }
    r.check("host-client", &format!("rm -rf {src}"), SHORT)
        .unwrap();
}

/// Issue 31 (12): what a host's tree holds is not trusted to be plain or
/// small. A node for /dev/zero (which reads forever) and a FIFO are
/// skipped and named; a tree past --max-files is refused before anything
/// is copied; a device as --remote-path is refused.
#[test]
fn fetch_skips_devices_and_keeps_to_its_limits() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let src = format!("/tmp/ebpf-perf-fetch-odd-{}", std::process::id());
    r.check(
        "host-client",
        &format!(
            "rm -rf {src} && mkdir -p {src}/d && echo a > {src}/a && echo b > {src}/d/b && \
             mkfifo {src}/fifo && mknod {src}/d/zero c 1 5"
        ),
        SHORT,
    )
    .unwrap();
    let fetch = |extra: &[&str], local: &Path| {
        let mut args = vec![
            "fetch",
            "--host",
            "host-client",
            "--remote-path",
            &src,
            "--local-dir",
            local.to_str().unwrap(),
        ];
        args.extend(extra);
        ebpf_perf(&args)
    };
    let name = Path::new(&src).file_name().unwrap();
    for compress in [&[][..], &["--compress"][..]] {
        let dest = tempfile::tempdir().unwrap();
        let o = fetch(compress, dest.path());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{compress:?}: {err}");
        let got: Vec<String> = tree(&dest.path().join(name))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(got, ["a", "d/b"], "{compress:?}");
        // Named with and without --compress.
        assert!(
            err.contains("skipped 2 entries that are neither regular files nor directories"),
            "{compress:?}: {err}"
        );
        assert!(
            err.contains("/d/zero") && err.contains("/fifo"),
            "{compress:?}: {err}"
        );
    }
    // 4 entries (a, d, d/b and the root itself) against a limit of 3.
    let dest = tempfile::tempdir().unwrap();
    let o = fetch(&["--max-files", "3"], dest.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("more than 3 files (--max-files)"), "{err}");
    assert_eq!(
        std::fs::read_dir(dest.path()).unwrap().count(),
        0,
        "nothing copied"
    );
    let o = fetch(&["--max-bytes", "2"], dest.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("(--max-bytes)"), "{err}");
    // The device itself.
    let o = ebpf_perf(&[
        "fetch",
        "--host",
        "host-client",
        "--remote-path",
        &format!("{src}/d/zero"),
        "--local-dir",
        dest.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("is neither a regular file nor a directory"),
        "{err}"
    );
    r.check("host-client", &format!("rm -rf {src}"), SHORT)
        .unwrap();
}
