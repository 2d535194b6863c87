use std::time::{Duration, Instant};
fn main() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    let cfg = ebpf_perf::config::load(dir).unwrap();
    let r = ebpf_perf::host::remote::Remote::new(&cfg);
    for cmd in ["true", "ps -e -o pid= | wc -l", "sleep 0.05"] {
        let mut v = vec![];
        for _ in 0..20 {
            let t = Instant::now();
            r.exec("host-server", cmd, Duration::from_secs(5)).unwrap();
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        v.sort_by(f64::total_cmp);
        println!("{cmd}: median {:.2} ms min {:.2}", v[10], v[0]);
    }
}
