//! The three performance tests: which servers and clients a variant runs, with
//! their commands rendered from the spec's templates, and how their outputs
//! become metrics (with the plausibility checks that fail a trial).

pub mod parse;

use crate::config::{Commands, PerfSpec};
use crate::domain::{Protocol, Variant};
use crate::metrics;
use crate::results::{put_finite, Name};
use crate::template;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Placeholder values; later entries do not override earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    pub fn set(&mut self, k: impl Into<String>, v: impl Into<String>) -> &mut Self {
        let k = k.into();
        let v = v.into();
        match self.0.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k, v)),
        }
        self
    }

    pub fn with(&self, k: &str, v: impl Into<String>) -> Vars {
        let mut n = self.clone();
        n.set(k, v);
        n
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    /// Fills `t` verbatim, for a file path (see [`template::fill`]).
    pub fn fill(&self, t: &str) -> Result<String, template::Unknown> {
        template::fill(t, |n| self.get(n).map(Cow::Borrowed))
    }

    /// Fills `t`; every value is shell-quoted.
    pub fn render(&self, t: &str) -> Result<String, template::Unknown> {
        template::render(t, |n| self.get(n).map(Cow::Borrowed))
    }
}

/// What one variant runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub server_cmd: String,
    pub client_cmd: String,
    pub ports: Vec<u16>,
    pub duration: u32,
    pub target_bw: Option<String>,
    pub sar_cmd: Option<String>,
    /// File extension of a client's output.
    pub output_ext: &'static str,
    /// The hosts' CPU wake-up latency limit during a run (µs), if any.
    pub cpu_latency_us: Option<u32>,
}

fn pick<'a>(
    own: &'a Commands,
    fallback: Option<&'a Commands>,
    p: Protocol,
) -> (Option<&'a str>, Option<&'a str>) {
    let server = own
        .server_cmd
        .as_deref()
        .or_else(|| fallback.and_then(|f| f.server_cmd.as_deref()));
    let client = own.client(p).or_else(|| fallback.and_then(|f| f.client(p)));
    (server, client)
}

/// The plan of a variant; `None` when the spec lacks what validation requires.
pub fn plan(spec: &PerfSpec, v: &Variant) -> Option<Plan> {
    let ports = crate::matrix::ports(spec, v);
    let duration = crate::matrix::duration(spec, v);
    let tp = spec.throughput.as_ref();
    let single = tp.and_then(|t| t.single_stream.as_ref());
    let (cmds, target_bw, sar, ext) = match v {
        Variant::Single {
            protocol,
            target_bw,
        } => (
            pick(&single?.commands, None, *protocol),
            Some(target_bw.clone()),
            None,
            "json",
        ),
        Variant::Multi { protocol, .. } => {
            let m = tp?.multi_stream.as_ref()?;
            (
                pick(&m.commands, single.map(|s| &s.commands), *protocol),
                Some(m.target_bw.clone()),
                None,
                "json",
            )
        }
        Variant::Latency { protocol } => (
            pick(&spec.latency.as_ref()?.commands, None, *protocol),
            None,
            None,
            "txt",
        ),
        Variant::Pps { protocol, .. } => {
            let p = spec.pps.as_ref()?;
            (
                pick(&p.commands, None, *protocol),
                Some(p.target_bw.clone()),
                p.sar_cmd.clone(),
                "json",
            )
        }
    };
    Some(Plan {
        server_cmd: cmds.0?.to_string(),
        client_cmd: cmds.1?.to_string(),
        ports,
        duration,
        target_bw,
        sar_cmd: sar,
        output_ext: ext,
        cpu_latency_us: spec.cpu_latency_us(v.test_type()),
    })
}

/// Parsed results of a trial (docs/design.md §6).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_bps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_bps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_lost_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_jitter_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<parse::LatencyUs>,
    /// Packets per second received on the server's test interface (sar).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets_per_second: Option<f64>,
    /// UDP packets per second counted by iperf3 (cross-check of sar).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iperf3_packets_per_second: Option<f64>,
    pub streams: Vec<parse::Iperf3>,
}

impl Metrics {
    /// One line per metric, for JUnit's system-out.
    pub fn lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(b) = self.throughput_bps {
            v.push(format!("throughput_bps={b:.0} ({:.3} Gbit/s)", b / 1e9));
        }
        if let Some(r) = self.retransmits {
            v.push(format!("retransmits={r}"));
        }
        if let Some(l) = self.udp_lost_percent {
            v.push(format!("udp_lost_percent={l:.3}"));
        }
        if let Some(j) = self.udp_jitter_ms {
            v.push(format!("udp_jitter_ms={j:.4}"));
        }
        if let Some(l) = &self.latency_us {
            v.push(format!(
                "latency_us min={} mean={} p90={} p99={} max={}",
                l.min, l.mean, l.p90, l.p99, l.max
            ));
        }
        if let Some(p) = self.packets_per_second {
            v.push(format!("packets_per_second={p:.1}"));
        }
        if let Some(p) = self.iperf3_packets_per_second {
            v.push(format!("iperf3_packets_per_second={p:.1}"));
        }
        v
    }
}

/// Which output a metrics error is about, so the caller can name its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The client output of stream N (1-based).
    Stream(usize),
    /// The sar output of the server's test interface.
    Sar,
}

/// Why the outputs give no metrics, and which output says so.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MetricsError {
    pub input: Input,
    pub message: String,
}

fn bad(input: Input, message: impl Into<String>) -> MetricsError {
    MetricsError {
        input,
        message: message.into(),
    }
}

/// Turns client outputs (one per stream) and, for pps, the sar output of the
/// server's test interface into metrics; an error says why the trial fails.
pub fn metrics(
    v: &Variant,
    outputs: &[String],
    sar: Option<(&str, &str)>,
) -> Result<Metrics, MetricsError> {
    let mut m = Metrics::default();
    if let Variant::Latency { .. } = v {
        let out = outputs
            .first()
            .ok_or_else(|| bad(Input::Stream(1), "no client output"))?;
        let l = parse::netperf(out).map_err(|e| bad(Input::Stream(1), e.to_string()))?;
        if !(l.mean > 0.0 && l.max >= l.min) {
            return Err(bad(
                Input::Stream(1),
                format!("implausible latency (no samples?): {l:?}"),
            ));
        }
        m.latency_us = Some(l);
        return Ok(m);
    }
    for (i, out) in outputs.iter().enumerate() {
        let at = Input::Stream(i + 1);
        let s = parse::iperf3(out).map_err(|e| bad(at, format!("stream {}: {e}", i + 1)))?;
        if s.receiver_bps <= 0.0 {
            return Err(bad(at, format!("stream {}: zero throughput", i + 1)));
        }
        m.streams.push(s);
    }
    if m.streams.is_empty() {
        return Err(bad(Input::Stream(1), "no client output"));
    }
    m.throughput_bps = Some(m.streams.iter().map(|s| s.receiver_bps).sum());
    m.sender_bps = Some(m.streams.iter().map(|s| s.sender_bps).sum());
    if v.protocol() == Protocol::Tcp {
        m.retransmits = Some(m.streams.iter().filter_map(|s| s.retransmits).sum());
    } else {
        let packets: u64 = m.streams.iter().filter_map(|s| s.packets).sum();
        let lost: u64 = m.streams.iter().filter_map(|s| s.lost_packets).sum();
        if packets > 0 {
            m.udp_lost_percent = Some(100.0 * lost as f64 / packets as f64);
        }
        let j: Vec<f64> = m.streams.iter().filter_map(|s| s.jitter_ms).collect();
        if !j.is_empty() {
            m.udp_jitter_ms = Some(j.iter().sum::<f64>() / j.len() as f64);
        }
        let secs = m.streams.iter().map(|s| s.seconds).fold(0.0, f64::max);
        if secs > 0.0 {
            m.iperf3_packets_per_second = Some((packets - lost.min(packets)) as f64 / secs);
        }
    }
    if let (Variant::Pps { .. }, Some((text, iface))) = (v, sar) {
        let s = parse::sar_dev(text, iface).map_err(|e| bad(Input::Sar, e.to_string()))?;
        if s.rx_pps <= 0.0 {
            return Err(bad(
                Input::Sar,
                format!("sar counted no packets on {iface}"),
            ));
        }
        m.packets_per_second = Some(s.rx_pps);
    }
    Ok(m)
}

/// Performance metrics of one run, by their catalog names.
pub fn flat(m: &Metrics) -> BTreeMap<Name, f64> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<f64>| put_finite(&mut out, k, v);
    put(metrics::THROUGHPUT_BPS, m.throughput_bps);
    put("sender_bps", m.sender_bps);
    put("retransmits", m.retransmits.map(|r| r as f64));
    put("udp_lost_pct", m.udp_lost_percent);
    put("udp_jitter_ms", m.udp_jitter_ms);
    put(metrics::PPS, m.packets_per_second);
    put("iperf3_pps", m.iperf3_packets_per_second);
    if let Some(l) = &m.latency_us {
        put("latency_min_us", Some(l.min));
        put(metrics::LATENCY_MEAN_US, Some(l.mean));
        put("latency_p50_us", l.p50);
        put("latency_p90_us", Some(l.p90));
        put(metrics::LATENCY_P99_US, Some(l.p99));
        put("latency_max_us", Some(l.max));
        put("transactions_per_s", l.transactions_per_second);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_data as data;

    #[test]
    fn multi_stream_sums_receiver_throughput() {
        let (streams, protocol) = (2, Protocol::Tcp);
        let outputs = [data("iperf3_tcp.json"), data("iperf3_tcp.json")];
        let m = metrics(&Variant::Multi { streams, protocol }, &outputs, None).unwrap();
        assert!((m.throughput_bps.unwrap() - 2.0 * 999_158_041.664_375_3).abs() < 2.0);
        assert_eq!(m.retransmits, Some(0));
    }

    #[test]
    fn pps_takes_sar_and_cross_checks_with_iperf3() {
        let (streams, protocol) = (1, Protocol::Udp);
        let sar = data("sar_dev.txt");
        let m = metrics(
            &Variant::Pps { streams, protocol },
            &[data("iperf3_udp_64.json")],
            Some((&sar, "port-storage")),
        )
        .unwrap();
        assert_eq!(m.packets_per_second, Some(16_597.5));
        assert!((m.iperf3_packets_per_second.unwrap() - 39_032.0 / 1.000_121).abs() < 1.0);
        assert_eq!(m.udp_lost_percent, Some(0.0));
    }

    #[test]
    fn implausible_or_failed_outputs_fail() {
        let v = Variant::Single {
            protocol: Protocol::Tcp,
            target_bw: "1G".into(),
        };
        let zero = data("iperf3_tcp.json").replace(
            "\"bits_per_second\":\t999158041",
            "\"bits_per_second\":\t0.0, \"x\": 999158041",
        );
        assert!(metrics(&v, &[zero], None)
            .unwrap_err()
            .message
            .contains("zero throughput"));
        assert!(metrics(&v, &[data("iperf3_refused.json")], None)
            .unwrap_err()
            .message
            .contains("Connection refused"));
        let lat = Variant::Latency {
            protocol: Protocol::Tcp,
        };
        assert!(metrics(&lat, &["".into()], None).is_err());
        assert!(metrics(&lat, &[data("netperf_tcp_rr.txt")], None).is_ok());
    }
}
