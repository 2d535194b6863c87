//! Parsers of the performance tools' output: iperf3 `-J`, netperf omni
//! (`-- -o ...` CSV), and `sar -n DEV`. Each says what it could not find.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("iperf3 reported an error: {0}")]
    Iperf3(String),
    #[error("{tool} output is not what was expected: {what}")]
    Shape { tool: &'static str, what: String },
}

fn shape(tool: &'static str, what: impl Into<String>) -> ParseError {
    ParseError::Shape {
        tool,
        what: what.into(),
    }
}

/// One iperf3 client run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Iperf3 {
    pub protocol: String,
    pub seconds: f64,
    pub sender_bps: f64,
    pub receiver_bps: f64,
    pub retransmits: Option<u64>,
    pub jitter_ms: Option<f64>,
    pub lost_packets: Option<u64>,
    pub packets: Option<u64>,
}

pub fn iperf3(json: &str) -> Result<Iperf3, ParseError> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| shape("iperf3", format!("not JSON ({e})")))?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        return Err(ParseError::Iperf3(err.to_string()));
    }
    let end = v
        .get("end")
        .ok_or_else(|| shape("iperf3", "no `end` section"))?;
    let protocol = v["start"]["test_start"]["protocol"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    let sent = &end["sum_sent"];
    let recv = &end["sum_received"];
    let f = |x: &serde_json::Value, k: &str| x.get(k).and_then(|n| n.as_f64());
    let u = |x: &serde_json::Value, k: &str| x.get(k).and_then(|n| n.as_u64());
    let sender_bps = f(sent, "bits_per_second")
        .ok_or_else(|| shape("iperf3", "no end.sum_sent.bits_per_second"))?;
    let receiver_bps = f(recv, "bits_per_second")
        .ok_or_else(|| shape("iperf3", "no end.sum_received.bits_per_second"))?;
    let udp = protocol == "udp";
    Ok(Iperf3 {
        seconds: f(recv, "seconds")
            .or_else(|| f(sent, "seconds"))
            .unwrap_or(0.0),
        sender_bps,
        receiver_bps,
        retransmits: if udp { None } else { u(sent, "retransmits") },
        jitter_ms: if udp { f(recv, "jitter_ms") } else { None },
        lost_packets: if udp { u(recv, "lost_packets") } else { None },
        packets: if udp { u(recv, "packets") } else { None },
        protocol,
    })
}

/// Request/response latency in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyUs {
    pub min: f64,
    pub mean: f64,
    /// Present when `-o` asks for p50_latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// Present when `-o` asks for transaction_rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions_per_second: Option<f64>,
}

/// netperf omni output with `-o min_latency,mean_latency,max_latency,p90_latency,p99_latency`
/// and optionally `p50_latency,transaction_rate` (any order): a CSV header line of descriptions, then one line of values.
pub fn netperf(text: &str) -> Result<LatencyUs, ParseError> {
    let mut lines = text.lines();
    let header = lines
        .by_ref()
        .find(|l| l.contains("Latency Microseconds"))
        .ok_or_else(|| {
            shape(
                "netperf",
                format!("no latency header; output was: {}", text.trim()),
            )
        })?;
    let values = lines
        .next()
        .ok_or_else(|| shape("netperf", "no values after the header"))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let vals: Vec<&str> = values.split(',').map(str::trim).collect();
    let get = |want: &str| -> Result<f64, ParseError> {
        let i = names
            .iter()
            .position(|n| n.starts_with(want))
            .ok_or_else(|| shape("netperf", format!("no `{want}` column (add it to -o)")))?;
        vals.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| shape("netperf", format!("`{want}` is not a number")))
    };
    let optional = |want: &str| match names.iter().any(|n| n.starts_with(want)) {
        true => get(want).map(Some),
        false => Ok(None),
    };
    Ok(LatencyUs {
        min: get("Minimum Latency")?,
        mean: get("Mean Latency")?,
        p50: optional("50th Percentile")?,
        p90: get("90th Percentile")?,
        p99: get("99th Percentile")?,
        max: get("Maximum Latency")?,
        transactions_per_second: optional("Transaction Rate")?,
    })
}

/// Average packets per second of one interface from `sar -n DEV`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SarDev {
    pub rx_pps: f64,
    pub tx_pps: f64,
    pub samples: usize,
}

/// sysstat's `sar -n DEV` columns (time first), for output whose header
/// lines a `| grep IFACE` dropped, as the seeds' pps command does.
const DEV_COLUMNS: [&str; 10] = [
    "time", "IFACE", "rxpck/s", "txpck/s", "rxkB/s", "txkB/s", "rxcmp/s", "txcmp/s", "rxmcst/s",
    "%ifutil",
];

/// The interface's average packet rates; its columns are named by the
/// header lines, or (grep'd output) are sysstat's.
pub fn sar_dev(text: &str, iface: &str) -> Result<SarDev, ParseError> {
    let mut cols: Vec<&str> = Vec::new();
    let headed = text
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("IFACE"));
    if !headed {
        cols = DEV_COLUMNS.to_vec();
    }
    let mut samples = 0;
    let mut avg = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        if f[1] == "IFACE" {
            cols = f;
            continue;
        }
        if f[1] != iface || cols.is_empty() {
            continue;
        }
        let col = |name: &str| -> Option<f64> {
            let i = cols.iter().position(|c| *c == name)?;
            f.get(i)?.parse().ok()
        };
        let (Some(rx), Some(tx)) = (col("rxpck/s"), col("txpck/s")) else {
            return Err(shape("sar", format!("no rxpck/s or txpck/s for {iface}")));
        };
        if f[0] == "Average:" {
            avg = Some((rx, tx));
        } else {
            samples += 1;
        }
    }
    let (rx_pps, tx_pps) =
        avg.ok_or_else(|| shape("sar", format!("no Average line for interface {iface}")))?;
    Ok(SarDev {
        rx_pps,
        tx_pps,
        samples,
    })
}

#[cfg(test)]
mod tests {
    //! On output recorded from the installed tools (iperf 3.12, netperf 2.7.0,
    //! sysstat 12.6.1) in the lab; see tests/data/.
    use super::*;

    use crate::test_data as data;

    #[test]
    fn iperf3_tcp() {
        let r = iperf3(&data("iperf3_tcp.json")).unwrap();
        assert_eq!(r.protocol, "tcp");
        assert!((r.receiver_bps - 999_158_041.664_375_3).abs() < 1.0);
        assert_eq!(r.retransmits, Some(0));
        assert_eq!((r.jitter_ms, r.packets), (None, None));
    }

    #[test]
    fn iperf3_udp() {
        let r = iperf3(&data("iperf3_udp_64.json")).unwrap();
        assert_eq!(r.protocol, "udp");
        assert_eq!(r.packets, Some(39_032));
        assert_eq!(r.lost_packets, Some(0));
        assert!(r.jitter_ms.unwrap() > 0.0);
        assert_eq!(r.retransmits, None);
    }

    #[test]
    fn iperf3_error_and_garbage() {
        assert_eq!(
            iperf3(&data("iperf3_refused.json")).unwrap_err(),
            ParseError::Iperf3("unable to connect to server: Connection refused".into())
        );
        assert!(matches!(
            iperf3("iperf3: error"),
            Err(ParseError::Shape { .. })
        ));
    }

    #[test]
    fn netperf_tcp_and_udp_rr() {
        let t = netperf(&data("netperf_tcp_rr.txt")).unwrap();
        assert_eq!(
            t,
            LatencyUs {
                min: 3.0,
                mean: 5.51,
                p50: None,
                p90: 8.0,
                p99: 18.0,
                max: 954.0,
                transactions_per_second: None,
            }
        );
        let p = netperf(&data("netperf_tcp_rr_p50_tps.txt")).unwrap();
        assert_eq!(
            (p.p50, p.p90, p.transactions_per_second),
            (Some(25.0), 94.0, Some(24961.754))
        );
        let u = netperf(&data("netperf_udp_rr.txt")).unwrap();
        assert_eq!(u.mean, 5.20);
        let e = netperf("establish control: are you sure there is a netserver listening on 198.18.1.11 at port 12865?\n").unwrap_err();
        assert!(e.to_string().contains("are you sure"), "{e}");
    }

    #[test]
    fn sar_average_of_the_test_interface() {
        let s = sar_dev(&data("sar_dev.txt"), "port-storage").unwrap();
        assert_eq!(
            s,
            SarDev {
                rx_pps: 16_597.5,
                tx_pps: 4.0,
                samples: 2
            }
        );
        assert!(sar_dev(&data("sar_dev.txt"), "ens9").is_err());
    }

    /// `sar -n DEV 1 {duration} | grep {interface}` (seed 001 §3.3) keeps
    /// the interface's lines only: the same recorded output, grep'd, gives
    /// the same rates.
    #[test]
    fn sar_output_without_its_header_lines() {
        let grepped: String = data("sar_dev.txt")
            .lines()
            .filter(|l| l.contains("port-storage"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!grepped.contains("IFACE"));
        let s = sar_dev(&grepped, "port-storage").unwrap();
        assert_eq!((s.rx_pps, s.tx_pps, s.samples), (16_597.5, 4.0, 2));
        assert!(sar_dev(&grepped, "eth0").is_err());
    }
}
