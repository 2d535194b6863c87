//! The report's charts as inline SVG, drawn with plotters' SVG backend
//! (pure Rust, no fonts or files needed, text escaped by the backend):
//! overhead bars with CI whiskers and budget marks, the repeats of each
//! trial as points, and the tool's own cost over the case as time series.

use super::axis::Clamped;
use super::model::Row;
use crate::metrics::{self, Better};
use crate::results::{Results, TrialResult};
use crate::stats::Estimate;
use plotters::prelude::*;

const W: u32 = 560;
const H: u32 = 260;
pub const EBPF: RGBColor = RGBColor(0x1f, 0x6f, 0xc5);
const BASE: RGBColor = RGBColor(0x88, 0x88, 0x88);
pub const BUDGET: RGBColor = RGBColor(0xc6, 0x28, 0x28);

pub type Drawn = Result<(), Box<dyn std::error::Error>>;

/// A bar: label, cost in percent of the baseline, its budget in percent.
struct Bar {
    label: String,
    value: Estimate,
    budget: Option<f64>,
}

/// The headline costs of one trial, in percent of its baseline.
fn bars_of(t: &TrialResult) -> Vec<Bar> {
    let Some(c) = &t.analysis.comparison else {
        return vec![];
    };
    let budget = |name: &str| {
        t.analysis
            .budgets
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.limit)
    };
    let mut out = Vec::new();
    let charted = metrics::CATALOG
        .iter()
        .filter_map(|m| Some((m, m.chart?)))
        .filter(|(_, (tt, _))| *tt == t.test_type);
    for (m, (_, label)) in charted {
        if let Some(rel) = c.metrics.get(m.name).and_then(|x| x.rel_pct) {
            out.push(Bar {
                label: format!("{} {label}", t.variant),
                // A cost is a loss where higher is better.
                value: if m.better == Better::Higher {
                    -rel
                } else {
                    rel
                },
                budget: metrics::relative_budget_of(m.name).and_then(|b| budget(b.name)),
            });
        }
    }
    out
}

pub fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.1).max(1.0);
    (lo - pad, hi + pad)
}

pub fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Drawn) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (W, H)).into_drawing_area();
        // A chart that cannot be drawn leaves its frame; the page still reads.
        let _ = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root).map_err(|e| e.to_string()));
        let _ = root.present();
    }
    buf
}

pub type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Clamped, Clamped>>;

/// A chart with one labelled column per x = 0, 1, … and its mesh drawn.
pub fn columns<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    labels: &[String],
    (lo, hi): (f64, f64),
    y_desc: &str,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let n = labels.len();
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 13))
        .margin(8)
        .x_label_area_size(60)
        .y_label_area_size(48)
        .build_cartesian_2d(
            Clamped::from(-0.5f64..n as f64 - 0.5),
            Clamped::from(lo..hi),
        )?;
    let label = |x: &f64| {
        let i = x.round();
        match labels.get(i as usize) {
            Some(l) if (x - i).abs() < 1e-6 && i >= 0.0 => l.clone(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(6)
        .x_labels(n)
        .x_label_formatter(&label)
        .x_label_style(
            ("sans-serif", 11)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// Overhead per trial and metric, in percent of the baseline, with 95 % CI
/// whiskers and the budget (when one is set) as a red mark over the bar.
pub fn overhead(r: &Results, row: &Row) -> Option<String> {
    let bars: Vec<Bar> = row
        .trials
        .iter()
        .flat_map(|&i| bars_of(&r.trials[i]))
        .collect();
    if bars.is_empty() {
        return None;
    }
    let (lo, hi) = span(bars.iter().flat_map(|b| b.value.bounds()));
    // Budgets far above the data would flatten it: those are listed in the
    // caption instead of drawn.
    let shown = |b: f64| b <= hi * 1.5 + 1.0;
    let off: Vec<String> = bars
        .iter()
        .filter_map(|b| {
            b.budget
                .filter(|v| !shown(*v))
                .map(|v| format!("{} ≤ {v}", b.label))
        })
        .collect();
    let hi = bars
        .iter()
        .filter_map(|b| b.budget.filter(|v| shown(*v)))
        .fold(hi, |h, v| h.max(v * 1.05));
    let caption = if off.is_empty() {
        "Overhead vs baseline, % (95% CI; red: budget)".to_string()
    } else {
        format!(
            "Overhead vs baseline, % (95% CI; red: budget; off the chart: {})",
            off.join(", ")
        )
    };
    let n = bars.len();
    Some(svg(|root| {
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let mut chart = columns(root, &caption, &labels, (lo, hi), "% of baseline")?;
        chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            let mut rect = Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, b.value.value)],
                EBPF.mix(0.7).filled(),
            );
            rect.set_margin(0, 0, 0, 0);
            rect
        }))?;
        chart.draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
            let [l, h] = b.value.ci95?;
            Some(ErrorBar::new_vertical(
                i as f64,
                l,
                b.value.value,
                h,
                BLACK.stroke_width(1),
                10,
            ))
        }))?;
        chart.draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
            let y = b.budget.filter(|v| shown(*v))?;
            let x = i as f64;
            Some(PathElement::new(
                vec![(x - 0.45, y), (x + 0.45, y)],
                BUDGET.stroke_width(3),
            ))
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
            BLACK.stroke_width(1),
        )))?;
        Ok(())
    }))
}

/// The headline metric of a trial's test type.
pub fn headline(t: &TrialResult) -> &'static str {
    metrics::headline(t.test_type).name
}

/// Every run of every trial, baseline (grey) beside eBPF (blue), in percent
/// of the baseline's mean: noise is visible at a glance.
pub fn repeats(r: &Results, row: &Row) -> Option<String> {
    let mut cols: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for &i in &row.trials {
        let t = &r.trials[i];
        let m = headline(t);
        let Some(c) = &t.analysis.comparison else {
            continue;
        };
        let Some(mc) = c.metrics.get(m) else { continue };
        if mc.baseline_mean == 0.0 {
            continue;
        }
        let scale = |v: f64| 100.0 * v / mc.baseline_mean;
        let base: Vec<f64> = r
            .trial(&c.baseline)
            .map(|b| b.values(m).into_iter().map(scale).collect())
            .unwrap_or_default();
        cols.push((
            t.variant.clone(),
            base,
            t.values(m).into_iter().map(scale).collect(),
        ));
    }
    if cols.is_empty() {
        return None;
    }
    let (lo, hi) = span(
        cols.iter()
            .flat_map(|(_, b, e)| b.iter().chain(e).copied())
            .chain([100.0]),
    );
    Some(svg(|root| {
        let labels: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
        let mut chart = columns(
            root,
            "Repeats: each run, % of baseline mean (grey baseline, blue eBPF)",
            &labels,
            (lo.max(0.0), hi),
            "",
        )?;
        for (i, (_, base, ebpf)) in cols.iter().enumerate() {
            let x = i as f64;
            chart.draw_series(
                base.iter()
                    .map(|y| Circle::new((x - 0.15, *y), 4, BASE.filled())),
            )?;
            chart.draw_series(
                ebpf.iter()
                    .map(|y| Circle::new((x + 0.15, *y), 4, EBPF.filled())),
            )?;
        }
        Ok(())
    }))
}

/// One time series of the tool's cost over the case, per host.
pub struct Trace {
    pub title: &'static str,
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// The tool's own cost over the whole case, from the monitor's samples:
/// CPU %, RSS MB, log bytes/s, BPF events/s and ns/event.
pub fn traces(r: &Results, row: &Row) -> Vec<Trace> {
    use std::collections::BTreeMap;
    let mut per: BTreeMap<&str, Vec<[Option<f64>; 6]>> = BTreeMap::new();
    for &i in &row.trials {
        let own = r.trials[i].own_blocks();
        for run in own.flat_map(|b| b.warmups.iter().chain(&b.runs)) {
            for (h, s) in &run.tool_series {
                let v = per.entry(h).or_default();
                for k in 0..s.t.len() {
                    let at = |x: &Vec<Option<f64>>| x.get(k).copied().flatten();
                    v.push([
                        Some(s.t[k]),
                        at(&s.cpu_pct),
                        at(&s.rss_kb),
                        at(&s.log_bytes),
                        at(&s.bpf_run_cnt),
                        at(&s.bpf_run_time_ns),
                    ]);
                }
            }
        }
    }
    let t0 = per
        .values()
        .flat_map(|v| v.iter().filter_map(|x| x[0]))
        .fold(f64::INFINITY, f64::min);
    let mut out: Vec<Trace> = [
        "Tool CPU %",
        "Tool RSS MB",
        "Log bytes/s",
        "BPF events/s",
        "BPF ns/event",
    ]
    .into_iter()
    .map(|title| Trace {
        title,
        lines: vec![],
    })
    .collect();
    for (host, mut v) in per {
        v.sort_by(|a, b| a[0].unwrap_or(0.0).total_cmp(&b[0].unwrap_or(0.0)));
        let at = |x: &[Option<f64>; 6]| (x[0].unwrap_or(t0) - t0) / 60.0;
        let mut series: [Vec<(f64, f64)>; 5] = Default::default();
        for (k, x) in v.iter().enumerate() {
            let m = at(x);
            if let Some(c) = x[1] {
                series[0].push((m, c));
            }
            if let Some(kb) = x[2] {
                series[1].push((m, kb / 1024.0));
            }
            // Rates from consecutive counters (a restart shows as no point).
            if let Some(p) = k.checked_sub(1).map(|j| &v[j]) {
                let dt = x[0].unwrap_or(0.0) - p[0].unwrap_or(0.0);
                let d = |j: usize| Some(x[j]? - p[j]?).filter(|d| *d >= 0.0);
                if dt > 0.0 && dt < 5.0 {
                    if let Some(b) = d(3) {
                        series[2].push((m, b / dt));
                    }
                    if let Some(e) = d(4) {
                        series[3].push((m, e / dt));
                        if let (Some(ns), true) = (d(5), e > 0.0) {
                            series[4].push((m, ns / e));
                        }
                    }
                }
            }
        }
        for (trace, s) in out.iter_mut().zip(series) {
            if !s.is_empty() {
                trace.lines.push((host.to_string(), s));
            }
        }
    }
    out.retain(|t| t.lines.iter().any(|(_, s)| s.iter().any(|p| p.1 != 0.0)));
    out
}

/// A small line chart of one trace (minutes since the case started).
pub fn trace(t: &Trace) -> String {
    let (x0, x1) = t
        .lines
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (lo, hi) = span(t.lines.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)));
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let palette = [EBPF, RGBColor(0xe6, 0x7e, 0x22), RGBColor(0x2e, 0x8b, 0x57)];
    let caption = match t.lines.as_slice() {
        [(host, _)] => format!("{} on {host}", t.title),
        _ => t.title.to_string(),
    };
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(Clamped::from(x0..x1), Clamped::from(lo.max(0.0)..hi))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(6)
            .y_labels(5)
            .x_desc("minutes into the case")
            .draw()?;
        for (k, (host, s)) in t.lines.iter().enumerate() {
            let c = palette[k % palette.len()];
            chart
                .draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2)))?
                .label(host.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], c.stroke_width(2))
                });
        }
        if t.lines.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        Ok(())
    })
}
