//! The report as a person sees it: a small real matrix on the lab (real
//! iperf3-free latency trials with netperf and bpftrace), the harness writes
//! report.html and summary.md, headless Chromium renders the page, and the
//! rendered DOM is checked: one verdict row per case, every chart an SVG
//! with data points, the side-by-side pair, a hostile case name shown as
//! text, no console errors, and no request other than the file itself.
//! A screenshot is taken (`EBPF_PERF_UPDATE_DOCS=1` copies it to
//! docs/report.png).

mod common;

use std::path::Path;
use std::process::Command;

const HOSTILE: &str = "<script>alert(1)</script>";

/// Chromium, headless, with every background service off and a dead
/// loopback proxy, so that nothing can leave this machine even if the page
/// asked for it; the net log then shows what the page requested.
fn chromium(page: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    assert!(
        common::test_tool("chromium", "chromium"),
        "chromium is missing and cannot be installed without root: install Debian's `chromium` package"
    );
    let netlog = out.join("netlog.json");
    let profile = out.join("profile");
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--no-pings",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", netlog.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()));
    let o = c.output().unwrap_or_else(|e| {
        panic!("cannot run chromium ({e}); install Debian's `chromium` package (.ci/run does)")
    });
    assert!(
        o.status.success(),
        "chromium failed: {}",
        common::stderr(&o)
    );
    o
}

/// URLs the page itself asked for, from Chromium's net log: requests whose
/// initiator is an origin (a file page's is `null`). The browser's own
/// background requests ("not an origin") go to the dead loopback proxy.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium wrote a net log");
    // The log may end without its closing brackets when the browser exits.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("net log is JSON");
    log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter_map(|e| {
            let p = e.get("params")?;
            let initiator = p.get("initiator")?.as_str()?;
            (initiator != "not an origin").then(|| p.get("url")?.as_str().map(String::from))?
        })
        .collect()
}

#[test]
fn the_request_check_sees_a_page_that_fetches() {
    if std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium missing under CI=true"
        );
        eprintln!("SKIPPED: no chromium");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let page = out.path().join("fetches.html");
    // A lab address; the dead loopback proxy receives it in any case.
    std::fs::write(
        &page,
        "<html><body><img src=\"http://198.18.0.1/x.png\"></body></html>",
    )
    .unwrap();
    chromium(&page, out.path(), &["--dump-dom"]);
    let urls = page_requests(&out.path().join("netlog.json"));
    assert!(urls.iter().any(|u| u.contains("198.18.0.1")), "{urls:?}");
}

#[test]
fn the_rendered_report_shows_every_case_with_charts_and_nothing_leaves_the_file() {
    let Some(_) = common::lab() else { return };
    let cfg = common::lab_config(2, |d| {
        let cases = d.join("ebpf-cases.json");
        common::replace_in(&cases, "\"xmit_percpu_counter\"", &format!("{:?}", HOSTILE));
    });
    let (o, results) = common::perf_in(
        cfg.path(),
        &[
            "host", "latency", "tcp_rr", "--skip", "case_2", "--repeat", "2",
        ],
    );
    let err = common::stderr(&o);
    assert!(o.status.success(), "matrix failed:\n{err}");
    let dir = results.parent().unwrap();
    let page = dir.join("report.html");
    assert!(
        err.contains(&format!("Report: {}", page.display())),
        "the harness says where the report is:\n{err}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("| tool_001 | case_1 | host |"),
        "{summary}"
    );
    assert!(
        summary.contains("| tool_002 | case_3 | host |"),
        "{summary}"
    );
    assert!(
        summary.contains("### case_1 vs case_3 on host"),
        "{summary}"
    );
    assert!(!summary.contains("<script>"), "{summary}");
    // Seed 003's decision matrix is in the results file (the tools file's
    // comparison), the same as decided from the file afresh, and shown.
    let r = ebpf_perf::results::read(&results).unwrap();
    assert_eq!(r.decisions.len(), 1, "{:?}", r.decisions);
    let d = &r.decisions[0];
    assert_eq!(
        (d.a.name.as_str(), d.b.name.as_str(), d.env.as_str()),
        ("case_1", "case_3", "host")
    );
    // Decided again from the file: the same verdicts (the numbers read back
    // from JSON may differ in their last digit).
    let again = ebpf_perf::decision::of_session(&r);
    let verdicts = |d: &ebpf_perf::results::Decision| {
        let rows: Vec<_> = d
            .rows
            .iter()
            .map(|x| (x.aspect, x.a_rating, x.b_rating, x.winner))
            .collect();
        (
            rows,
            d.winner.clone(),
            d.overall.clone(),
            d.recommendation.clone(),
        )
    };
    assert_eq!(verdicts(d), verdicts(&again[0]));
    assert!(d.rows.iter().any(|x| x.a_rating.is_some()), "{d:?}");
    assert!(
        summary.contains(&format!("**{}.**", d.overall)),
        "{summary}"
    );
    assert!(summary.contains("### Recommendations"), "{summary}");
    // Seed 003's compatibility row, from the program types the tools held:
    // case_1's counter is a tracepoint and an interval (perf_event, 4.9),
    // case_3's printf a tracepoint alone (4.7); both GOOD, so a tie.
    let row = d
        .rows
        .iter()
        .find(|x| x.aspect == ebpf_perf::ratings::Aspect::Compatibility)
        .unwrap_or_else(|| panic!("no compatibility row: {d:?}"));
    let kernel = |e: Option<ebpf_perf::stats::Estimate>| {
        ebpf_perf::compat::Kernel::of_level(e.expect("a value").value).map(|k| k.to_string())
    };
    assert_eq!(
        (kernel(row.a), kernel(row.b)),
        (Some("4.9".into()), Some("4.7".into()))
    );
    assert_eq!(row.winner, ebpf_perf::results::Winner::Tie, "{row:?}");
    assert!(
        summary.contains("| compatibility (oldest kernel) | 4.9 GOOD | 4.7 GOOD |"),
        "{summary}"
    );
    // Each host's facts say which program types its kernel offers.
    for (h, f) in &r.session.hosts {
        let types = f["bpf_program_types"].as_array();
        assert!(
            types.is_some_and(|t| t.iter().any(|x| x == "tracepoint")),
            "{h}: {f}"
        );
    }
    // Every trial records its conditions, the hosts' kernel and NIC included.
    for t in &r.trials {
        let c = t.conditions.as_ref().expect("conditions");
        assert_eq!(c.duration_s, 2, "{}", t.name);
        for role in ["server", "client"] {
            let h = &c.hosts[role];
            assert!(
                h.kernel.is_some() && h.nic.as_deref().is_some_and(|n| n.starts_with("veth;")),
                "{}: {h:?}",
                t.name
            );
        }
    }

    let out = tempfile::tempdir().unwrap();
    let dumped = chromium(&page, out.path(), &["--dump-dom"]);
    let dom = common::stdout(&dumped);
    let log = common::stderr(&dumped);
    // One verdict row per tool × case × environment that ran.
    assert_eq!(dom.matches("<tr class=\"row\"").count(), 2, "{dom}");
    assert!(dom.contains("data-case=\"case_1\"") && dom.contains("data-case=\"case_3\""));
    // The hostile case name is text, not markup: our sort script is the only script.
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "name not shown as text"
    );
    // Every chart is an SVG with data in it.
    let svgs: Vec<&str> = dom.split("<svg").skip(1).collect();
    assert!(
        svgs.len() >= 4,
        "expected charts for both cases, found {}",
        svgs.len()
    );
    for s in &svgs {
        let body = &s[..s.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<circle") || body.contains("<polyline") || body.contains("<rect"),
            "a chart without data points: {}",
            &body[..body.len().min(400)]
        );
    }
    assert!(
        dom.contains("case_1 vs case_3 on host"),
        "side-by-side missing"
    );
    assert!(dom.contains(&d.overall) && dom.contains("Recommendations"));
    assert!(
        !log.contains("CONSOLE") && !log.contains("Uncaught"),
        "console messages:\n{log}"
    );
    let urls = page_requests(&out.path().join("netlog.json"));
    assert!(urls.is_empty(), "the page requested {urls:?}");
    for attr in [" src=", " href=\"http", "url(", "@import", "<link"] {
        assert!(
            !dom.contains(attr),
            "the page refers to an outside resource ({attr})"
        );
    }

    // The screenshot a person looks at.
    let shot = out.path().join("report.png");
    chromium(
        &page,
        out.path(),
        &[
            "--window-size=1400,2000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    if std::env::var("EBPF_PERF_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::copy(&shot, common::repo().join("docs/report.png")).unwrap();
    }
}
