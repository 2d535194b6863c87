//! Seed 003's four ratings (EXCELLENT, GOOD, FAIR, POOR): the aspects a
//! case is rated on, their thresholds (defaults here, overridden by
//! `ratings:` in the tools file), and the rating of a value. The seed gives
//! no numbers; the defaults are ours and documented in the README.

use crate::compat::Kernel;
use serde::{Deserialize, Serialize};

/// A rating, best first (so `Ord` puts the better one first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rating {
    Excellent,
    Good,
    Fair,
    Poor,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Excellent => "EXCELLENT",
            Rating::Good => "GOOD",
            Rating::Fair => "FAIR",
            Rating::Poor => "POOR",
        }
    }
}

/// Upper bounds of the three better ratings, for a value where lower is
/// better: `v <= excellent` is EXCELLENT, `<= good` GOOD, `<= fair` FAIR,
/// anything above POOR.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    pub excellent: f64,
    pub good: f64,
    pub fair: f64,
}

impl Levels {
    pub const fn new(excellent: f64, good: f64, fair: f64) -> Levels {
        Levels {
            excellent,
            good,
            fair,
        }
    }

    pub fn rate(&self, v: f64) -> Rating {
        if v <= self.excellent {
            Rating::Excellent
        } else if v <= self.good {
            Rating::Good
        } else if v <= self.fair {
            Rating::Fair
        } else {
            Rating::Poor
        }
    }

    /// Why these levels cannot be used, if so: finite, not negative, and
    /// increasing.
    pub fn problem(&self) -> Option<String> {
        let v = [self.excellent, self.good, self.fair];
        if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Some("levels must be finite numbers ≥ 0".into());
        }
        (!(v[0] <= v[1] && v[1] <= v[2])).then(|| {
            format!(
                "levels must grow: excellent ({}) ≤ good ({}) ≤ fair ({})",
                v[0], v[1], v[2]
            )
        })
    }
}

/// The aspects a case is rated on, in the decision matrix's row order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// The worst relative cost of the case's trials: throughput or packet
    /// loss, or p99 latency increase, percent of the baseline.
    Performance,
    /// The largest coefficient of variation of a trial's headline metric.
    Stability,
    /// The tool's RSS (MB).
    Memory,
    /// The tool's CPU (percent of one CPU).
    CpuEfficiency,
    /// BPF program runs per packet of the traffic (pps trials only). There
    /// is no ground truth to rate it against, so it is shown, not rated.
    Accuracy,
    /// The oldest kernel that has every BPF program type the tool loaded
    /// (see [`crate::compat`]); POOR when the tool did not start.
    Compatibility,
}

impl Aspect {
    pub const ALL: [Aspect; 6] = [
        Aspect::Performance,
        Aspect::Stability,
        Aspect::Memory,
        Aspect::CpuEfficiency,
        Aspect::Accuracy,
        Aspect::Compatibility,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Aspect::Performance => "performance",
            Aspect::Stability => "stability",
            Aspect::Memory => "memory",
            Aspect::CpuEfficiency => "CPU efficiency",
            Aspect::Accuracy => "accuracy",
            Aspect::Compatibility => "compatibility",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Aspect::Performance => "% cost",
            Aspect::Stability => "% CV",
            Aspect::Memory => "MB RSS",
            Aspect::CpuEfficiency => "% of a CPU",
            Aspect::Accuracy => "events/packet",
            Aspect::Compatibility => "oldest kernel",
        }
    }

    /// A value as this aspect reads (a kernel release for compatibility),
    /// or `None` for a plain number.
    pub fn show(self, v: f64) -> Option<String> {
        (self == Aspect::Compatibility)
            .then(|| crate::compat::Kernel::of_level(v).map(|k| k.to_string()))
            .flatten()
    }
}

/// The thresholds of every rated aspect (`ratings:` in the tools file; each
/// aspect left out keeps its default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub performance_pct: Levels,
    pub stability_cv_pct: Levels,
    pub memory_mb: Levels,
    pub cpu_pct: Levels,
    /// Kernel releases, written as strings (`"4.19"`).
    #[serde(with = "kernel_levels")]
    pub compatibility_kernel: Levels,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            performance_pct: Levels::new(1.0, 5.0, 15.0),
            stability_cv_pct: Levels::new(2.0, 5.0, 10.0),
            memory_mb: Levels::new(16.0, 64.0, 256.0),
            cpu_pct: Levels::new(1.0, 5.0, 25.0),
            // Long-term kernels: kprobes (4.1) are EXCELLENT, tracepoints
            // (4.7) and perf events (4.9) GOOD, fentry (5.5) FAIR, as seed
            // 003 rates kprobe over tracepoint.
            compatibility_kernel: Levels::new(
                Kernel::new(4, 4).level(),
                Kernel::new(4, 19).level(),
                Kernel::new(5, 10).level(),
            ),
        }
    }
}

impl Thresholds {
    /// The levels of a rated aspect (`None`: shown, not rated).
    pub fn of(&self, a: Aspect) -> Option<&Levels> {
        match a {
            Aspect::Performance => Some(&self.performance_pct),
            Aspect::Stability => Some(&self.stability_cv_pct),
            Aspect::Memory => Some(&self.memory_mb),
            Aspect::CpuEfficiency => Some(&self.cpu_pct),
            Aspect::Accuracy => None,
            Aspect::Compatibility => Some(&self.compatibility_kernel),
        }
    }

    /// Each aspect's key and levels, for validation and documentation.
    pub fn keys(&self) -> [(&'static str, &Levels); 5] {
        [
            ("performance_pct", &self.performance_pct),
            ("stability_cv_pct", &self.stability_cv_pct),
            ("memory_mb", &self.memory_mb),
            ("cpu_pct", &self.cpu_pct),
            ("compatibility_kernel", &self.compatibility_kernel),
        ]
    }
}

/// Serde for rating levels written as kernel releases: strings such as
/// `"4.19"` (a YAML number 4.10 would read as 4.1), kept as
/// [`Kernel::level`]s.
mod kernel_levels {
    use super::Levels;
    use crate::compat::Kernel;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Written {
        excellent: Release,
        good: Release,
        fair: Release,
    }

    struct Release(Kernel);

    impl Serialize for Release {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Release {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Release, D::Error> {
            let v = serde_json::Value::deserialize(d)?;
            let text = v.as_str().ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "expected a kernel release as a string, such as \"4.19\" (found {v}; an unquoted 4.10 reads as 4.1)"
                ))
            })?;
            Kernel::parse(text).map(Release).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a kernel release; expected major.minor, such as \"4.19\""
                ))
            })
        }
    }

    fn release(v: f64) -> Release {
        Release(Kernel::of_level(v).unwrap_or(Kernel::new(0, 0)))
    }

    pub fn serialize<S: Serializer>(l: &Levels, s: S) -> Result<S::Ok, S::Error> {
        Written {
            excellent: release(l.excellent),
            good: release(l.good),
            fair: release(l.fair),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Levels, D::Error> {
        let w = Written::deserialize(d)?;
        let (e, g, f) = (w.excellent.0, w.good.0, w.fair.0);
        if !(e <= g && g <= f) {
            return Err(serde::de::Error::custom(format!(
                "levels must grow: excellent ({e}) ≤ good ({g}) ≤ fair ({f})"
            )));
        }
        Ok(Levels::new(
            w.excellent.0.level(),
            w.good.0.level(),
            w.fair.0.level(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(0.0, Rating::Excellent)]
    #[case(-3.0, Rating::Excellent)]
    #[case(1.0, Rating::Excellent)]
    #[case(1.01, Rating::Good)]
    #[case(5.0, Rating::Good)]
    #[case(14.9, Rating::Fair)]
    #[case(15.1, Rating::Poor)]
    fn a_value_is_rated_by_the_first_level_it_is_within(#[case] v: f64, #[case] r: Rating) {
        assert_eq!(Thresholds::default().performance_pct.rate(v), r);
    }

    #[rstest]
    #[case(Levels::new(1.0, 2.0, 3.0), None)]
    #[case(Levels::new(1.0, 1.0, 1.0), None)]
    #[case(Levels::new(2.0, 1.0, 3.0), Some("must grow"))]
    #[case(Levels::new(-1.0, 1.0, 3.0), Some("≥ 0"))]
    #[case(Levels::new(1.0, f64::NAN, 3.0), Some("finite"))]
    fn levels_must_be_usable(#[case] l: Levels, #[case] want: Option<&str>) {
        match (l.problem(), want) {
            (None, None) => {}
            (Some(p), Some(w)) => assert!(p.contains(w), "{p}"),
            (got, want) => panic!("{got:?} vs {want:?}"),
        }
    }

    #[test]
    fn compatibility_levels_are_kernel_releases_written_as_strings() {
        let t: Thresholds = crate::yaml::from_str(
            "compatibility_kernel: {excellent: \"4.9\", good: \"4.10\", fair: \"5.15\"}",
        )
        .unwrap();
        let l = t.compatibility_kernel;
        assert_eq!(l.rate(Kernel::new(4, 9).level()), Rating::Excellent);
        assert_eq!(l.rate(Kernel::new(4, 10).level()), Rating::Good);
        assert_eq!(l.rate(Kernel::new(5, 15).level()), Rating::Fair);
        assert_eq!(l.rate(Kernel::new(6, 1).level()), Rating::Poor);
        // Written back as it was read (the results file keeps the levels).
        let back = serde_json::to_value(t).unwrap();
        assert_eq!(back["compatibility_kernel"]["good"], "4.10");
        // A number cannot tell 4.1 from 4.10.
        let e = crate::yaml::from_str::<Thresholds>(
            "compatibility_kernel: {excellent: 4.4, good: 4.10, fair: 5.10}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("as a string"), "{e}");
        // Out of order, in the releases the user wrote (not their levels).
        let e = crate::yaml::from_str::<Thresholds>(
            "compatibility_kernel: {excellent: \"5.10\", good: \"4.4\", fair: \"5.15\"}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("excellent (5.10) ≤ good (4.4)"), "{e}");
        let d = Thresholds::default().compatibility_kernel;
        assert_eq!(
            d.rate(crate::compat::since("kprobe").unwrap().level()),
            Rating::Excellent
        );
        assert_eq!(
            d.rate(crate::compat::since("tracepoint").unwrap().level()),
            Rating::Good
        );
    }

    #[test]
    fn a_partial_ratings_section_keeps_the_other_defaults() {
        let t: Thresholds =
            crate::yaml::from_str("memory_mb: {excellent: 1, good: 2, fair: 3}").unwrap();
        assert_eq!(t.memory_mb, Levels::new(1.0, 2.0, 3.0));
        assert_eq!(t.cpu_pct, Thresholds::default().cpu_pct);
        assert!(
            crate::yaml::from_str::<Thresholds>("memory: {excellent: 1, good: 2, fair: 3}")
                .is_err()
        );
    }
}
