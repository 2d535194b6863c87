//! The metric catalog: every metric a run records and every budget a tools
//! file may set, one entry each. Parsers name their metrics from here;
//! analysis, the JUnit lines and the report read direction, unit, judging,
//! display order and headline from here. Adding a metric is one entry in
//! [`CATALOG`] plus the parser that measures it.

use crate::domain::TestType;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// How a metric is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// Compared with the baseline's runs: the overhead.
    AgainstBaseline,
    /// The tool's own cost, judged as measured (no baseline has it).
    OwnCost,
    /// Recorded and kept, not judged.
    Recorded,
}

/// The unit a metric is written in, and how its values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    BitsPerSecond,
    Microseconds,
    Milliseconds,
    Percent,
    PacketsPerSecond,
    TransactionsPerSecond,
    Megabytes,
    BytesPerSecond,
    Nanoseconds,
    EventsPerSecond,
    Count,
}

impl Unit {
    /// The unit as exports write it beside raw values: `bit/s`, `us`, `%`.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::BitsPerSecond => "bit/s",
            Unit::Microseconds => "us",
            Unit::Milliseconds => "ms",
            Unit::Percent => "%",
            Unit::PacketsPerSecond => "pkt/s",
            Unit::TransactionsPerSecond => "trans/s",
            Unit::Megabytes => "MB",
            Unit::BytesPerSecond => "B/s",
            Unit::Nanoseconds => "ns",
            Unit::EventsPerSecond => "events/s",
            Unit::Count => "",
        }
    }

    /// A value with its unit, for people: `1.234 Gbit/s`, `41.20 µs`.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::BitsPerSecond => bits(v),
            Unit::Microseconds => format!("{v:.2} µs"),
            Unit::Percent => format!("{v:.2}%"),
            Unit::PacketsPerSecond => format!("{v:.0} pkt/s"),
            Unit::TransactionsPerSecond => format!("{v:.0} trans/s"),
            Unit::Megabytes => format!("{v:.1} MB"),
            Unit::BytesPerSecond => format!("{v:.0} B/s"),
            Unit::Nanoseconds => format!("{v:.0} ns"),
            Unit::EventsPerSecond => format!("{v:.0} /s"),
            Unit::Milliseconds | Unit::Count => format!("{v:.3}"),
        }
    }
}

/// A bit rate for people: `1.234 Gbit/s`, `512.0 Mbit/s`.
pub fn bits(bps: f64) -> String {
    match bps.abs() {
        x if x >= 1e9 => format!("{:.3} Gbit/s", bps / 1e9),
        x if x >= 1e6 => format!("{:.1} Mbit/s", bps / 1e6),
        _ => format!("{:.1} kbit/s", bps / 1e3),
    }
}

/// The smallest step in which the tool that measures a metric reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution {
    /// A fixed step (sar's two decimals: 0.01; a counter: 1).
    Step(f64),
    /// A histogram with one bucket width per decade: netperf 2.7's latency
    /// percentiles come in whole µs below 100 µs (every recorded lab value
    /// is an integer from 7 to 71), then, 100 buckets a decade, 10 µs below
    /// 1 ms, 100 µs below 10 ms, and so on.
    Decade,
}

impl Resolution {
    /// The step of a value near `v`.
    pub fn step_at(self, v: f64) -> f64 {
        match self {
            Resolution::Step(s) => s,
            Resolution::Decade => {
                let v = v.abs();
                if v < 100.0 {
                    1.0
                } else {
                    10f64.powf(v.log10().floor() - 1.0)
                }
            }
        }
    }
}

/// One metric of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The name in results files, JUnit lines and budgets.
    pub name: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub judged: Judged,
    /// Its statistics are written in JUnit system-out (and checked for noise).
    pub shown: bool,
    /// A compared metric that gets a p-value and joins its tool's family
    /// of comparisons (docs/experiment.md, "Many comparisons").
    pub tested: bool,
    pub resolution: Resolution,
    /// The test type whose headline this metric is.
    pub headline_of: Option<TestType>,
    /// Its bar in the report's cost chart: the test type and the label.
    pub chart: Option<(TestType, &'static str)>,
}

const fn metric(name: &'static str, unit: Unit, better: Better, resolution: Resolution) -> Metric {
    Metric {
        name,
        unit,
        better,
        judged: Judged::Recorded,
        shown: false,
        tested: true,
        resolution,
        headline_of: None,
        chart: None,
    }
}

impl Metric {
    const fn shown(mut self) -> Metric {
        self.shown = true;
        self
    }
    /// Compared, but left out of the family: no p-value, no label.
    const fn untested(mut self) -> Metric {
        self.tested = false;
        self
    }
    const fn judged(mut self, j: Judged) -> Metric {
        self.judged = j;
        self
    }
    const fn headline(mut self, t: TestType) -> Metric {
        self.headline_of = Some(t);
        self
    }
    const fn chart(mut self, t: TestType, label: &'static str) -> Metric {
        self.chart = Some((t, label));
        self
    }
}

use Better::{Higher, Lower};
use Judged::{AgainstBaseline, OwnCost};
use Resolution::{Decade, Step};
use TestType::{Latency, Pps, Throughput};

pub const THROUGHPUT_BPS: &str = "throughput_bps";
pub const PPS: &str = "pps";
pub const LATENCY_MEAN_US: &str = "latency_mean_us";
pub const LATENCY_P99_US: &str = "latency_p99_us";
pub const HOST_CPU_BUSY_PCT: &str = "host_cpu_busy_pct";

/// Every metric, in display order.
pub const CATALOG: &[Metric] = &[
    metric(THROUGHPUT_BPS, Unit::BitsPerSecond, Higher, Step(1.0))
        .shown()
        .judged(AgainstBaseline)
        .headline(Throughput)
        .chart(Throughput, "loss"),
    metric(PPS, Unit::PacketsPerSecond, Higher, Step(0.01))
        .shown()
        .judged(AgainstBaseline)
        .headline(Pps)
        .chart(Pps, "loss"),
    metric(
        "transactions_per_s",
        Unit::TransactionsPerSecond,
        Higher,
        Step(0.01),
    )
    .shown()
    .judged(AgainstBaseline),
    metric(LATENCY_MEAN_US, Unit::Microseconds, Lower, Step(0.01))
        .shown()
        .judged(AgainstBaseline)
        .headline(Latency)
        .chart(Latency, "mean +"),
    // Bimodal by CPU placement on the lab: compared, not tested
    // (docs/experiment.md, "Many comparisons").
    metric("latency_p50_us", Unit::Microseconds, Lower, Decade)
        .shown()
        .judged(AgainstBaseline)
        .untested(),
    metric("latency_p90_us", Unit::Microseconds, Lower, Decade).shown(),
    metric(LATENCY_P99_US, Unit::Microseconds, Lower, Decade)
        .shown()
        .judged(AgainstBaseline)
        .chart(Latency, "p99 +"),
    metric("retransmits", Unit::Count, Lower, Step(1.0)).shown(),
    metric("udp_lost_pct", Unit::Percent, Lower, Step(0.0)).shown(),
    metric(HOST_CPU_BUSY_PCT, Unit::Percent, Lower, Step(0.01))
        .shown()
        .judged(AgainstBaseline),
    // One clock tick (USER_HZ 100) in a one-second sample: 1 %.
    metric("tool_cpu_pct", Unit::Percent, Lower, Step(1.0))
        .shown()
        .judged(OwnCost),
    metric("tool_rss_mb", Unit::Megabytes, Lower, Step(1.0 / 1024.0))
        .shown()
        .judged(OwnCost),
    metric("tool_fds", Unit::Count, Lower, Step(1.0))
        .shown()
        .judged(OwnCost),
    metric(
        "tool_ctx_switches_per_s",
        Unit::EventsPerSecond,
        Lower,
        Step(0.0),
    )
    .shown()
    .judged(OwnCost),
    metric(
        "tool_log_bytes_per_s",
        Unit::BytesPerSecond,
        Lower,
        Step(0.0),
    )
    .shown()
    .judged(OwnCost),
    metric("bpf_events_per_s", Unit::EventsPerSecond, Higher, Step(0.0))
        .shown()
        .judged(OwnCost),
    metric("bpf_ns_per_event", Unit::Nanoseconds, Lower, Step(0.0))
        .shown()
        .judged(OwnCost),
    metric("bpf_cpu_pct", Unit::Percent, Lower, Step(0.0))
        .shown()
        .judged(OwnCost),
    metric("sender_bps", Unit::BitsPerSecond, Higher, Step(1.0)),
    metric("udp_jitter_ms", Unit::Milliseconds, Lower, Step(0.0)),
    metric("iperf3_pps", Unit::PacketsPerSecond, Higher, Step(0.0)),
    metric("latency_min_us", Unit::Microseconds, Lower, Step(1.0)),
    metric("latency_max_us", Unit::Microseconds, Lower, Step(1.0)),
    metric("host_softirq_pct", Unit::Percent, Lower, Step(0.01)),
    // Compared with the baseline again since the pair design: in the
    // run-level design it drifted by about a megabyte between cycles with
    // tight intervals, and a tool that did nothing "cost" memory in 6 of 12
    // cases; a pair's two blocks are seconds apart.
    metric(
        "host_mem_used_mb",
        Unit::Megabytes,
        Lower,
        Step(1.0 / 1024.0),
    )
    .shown()
    .judged(AgainstBaseline),
];

/// The catalog entry of `name`.
pub fn get(name: &str) -> Option<&'static Metric> {
    CATALOG.iter().find(|m| m.name == name)
}

/// The resolution step of metric `name` near `v` (0 for unknown names).
pub fn step_of(name: &str, v: f64) -> f64 {
    get(name).map_or(0.0, |m| m.resolution.step_at(v))
}

/// A value of metric `name` with its unit (unknown names: three decimals).
pub fn format_value(name: &str, v: f64) -> String {
    get(name).map_or_else(|| format!("{v:.3}"), |m| m.unit.format(v))
}

/// The metrics compared with the baseline, in display order.
pub fn compared() -> impl Iterator<Item = &'static Metric> {
    CATALOG
        .iter()
        .filter(|m| m.judged == Judged::AgainstBaseline)
}

/// The headline metric of a test type.
pub fn headline(t: TestType) -> &'static Metric {
    CATALOG
        .iter()
        .find(|m| m.headline_of == Some(t))
        .expect("the catalog has a headline for every test type (pinned by a test)")
}

/// What a budget bounds, and how it is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The metric's loss against the baseline, in % of the baseline.
    Loss(&'static str),
    /// The metric's increase over the baseline, in % of the baseline.
    RelIncrease(&'static str),
    /// The metric's increase over the baseline, in its own unit.
    AbsIncrease(&'static str),
    /// The tool's own cost, as measured.
    Own(&'static str),
    /// A minimum the tool's own measure must reach (e.g. events it
    /// handles per second).
    OwnMin(&'static str),
    /// RSS growth of the tool over its case (a fitted slope).
    Leak,
}

impl Bound {
    /// The catalog metric this bound is measured on (none for the leak fit).
    pub fn metric(self) -> Option<&'static str> {
        match self {
            Bound::Loss(m)
            | Bound::RelIncrease(m)
            | Bound::AbsIncrease(m)
            | Bound::Own(m)
            | Bound::OwnMin(m) => Some(m),
            Bound::Leak => None,
        }
    }

    /// The compared metric it is measured on (none for the tool's own cost
    /// and the leak fit, which have no baseline).
    pub fn compared_metric(self) -> Option<&'static str> {
        match self {
            Bound::Loss(m) | Bound::RelIncrease(m) | Bound::AbsIncrease(m) => Some(m),
            Bound::Own(_) | Bound::OwnMin(_) | Bound::Leak => None,
        }
    }

    /// Whether the limit is a minimum, not a maximum.
    pub fn is_minimum(self) -> bool {
        matches!(self, Bound::OwnMin(_))
    }

    /// Whether the bound is a percentage of the baseline.
    pub fn relative(self) -> bool {
        matches!(self, Bound::Loss(_) | Bound::RelIncrease(_))
    }
}

/// A budget a tools file may set.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub name: &'static str,
    /// The unit of its limit, for people.
    pub unit: &'static str,
    /// Its short column header in reports.
    pub title: &'static str,
    pub bound: Bound,
}

/// Every budget, in the order of the report's verdict table.
pub const BUDGETS: &[Budget] = &[
    Budget {
        name: "throughput_loss_pct",
        title: "Throughput loss %",
        unit: "% of baseline throughput",
        bound: Bound::Loss(THROUGHPUT_BPS),
    },
    Budget {
        name: "pps_loss_pct",
        title: "PPS loss %",
        unit: "% of baseline packets/s",
        bound: Bound::Loss(PPS),
    },
    Budget {
        name: "latency_mean_increase_us",
        title: "Mean latency +µs",
        unit: "µs of mean latency",
        bound: Bound::AbsIncrease(LATENCY_MEAN_US),
    },
    Budget {
        name: "latency_p99_increase_pct",
        title: "p99 latency +%",
        unit: "% of baseline p99 latency",
        bound: Bound::RelIncrease(LATENCY_P99_US),
    },
    Budget {
        name: "host_cpu_increase_pts",
        title: "Host CPU +pts",
        unit: "points of host CPU busy %",
        bound: Bound::AbsIncrease(HOST_CPU_BUSY_PCT),
    },
    Budget {
        name: "tool_cpu_pct",
        title: "Tool CPU %",
        unit: "% of one CPU, the tool's process tree",
        bound: Bound::Own("tool_cpu_pct"),
    },
    Budget {
        name: "tool_rss_mb",
        title: "Tool RSS MB",
        unit: "MB resident, the tool's process tree",
        bound: Bound::Own("tool_rss_mb"),
    },
    Budget {
        name: "bpf_ns_per_event",
        title: "BPF ns/event",
        unit: "ns in the kernel per BPF program run",
        bound: Bound::Own("bpf_ns_per_event"),
    },
    Budget {
        name: "bpf_cpu_pct",
        title: "BPF CPU %",
        unit: "% of one CPU spent in the tool's BPF programs",
        bound: Bound::Own("bpf_cpu_pct"),
    },
    Budget {
        name: "bpf_events_per_s_min",
        title: "BPF events/s min",
        unit: "events/s the tool's BPF programs handle, at least",
        bound: Bound::OwnMin("bpf_events_per_s"),
    },
    Budget {
        name: "rss_growth_kb_per_min",
        title: "RSS growth kB/min",
        unit: "kB/min of RSS growth over the case",
        bound: Bound::Leak,
    },
];

/// The budget called `name`.
pub fn budget(name: &str) -> Option<&'static Budget> {
    BUDGETS.iter().find(|b| b.name == name)
}

/// The relative budget bound to a metric, if any (the report's chart
/// draws it beside the metric's bar).
pub fn relative_budget_of(metric: &str) -> Option<&'static Budget> {
    BUDGETS
        .iter()
        .find(|b| b.bound.relative() && b.bound.metric() == Some(metric))
}

#[cfg(test)]
mod tests;
