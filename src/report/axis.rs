//! A plotters f64 axis that draws any value. plotters maps a value to a
//! pixel in `i32` and adds the plot's offset to it, which overflows (a panic
//! in debug builds, a wrapped pixel in release) for a value far outside the
//! axis: a results file's 1e300, or a ratio to a baseline of zero. Here the
//! axis's own ends are finite and at most `LIMIT` from zero, and a value is
//! drawn at most one axis length beyond either end.

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use std::ops::Range;

/// The farthest an axis end may lie from zero: far beyond any measurement,
/// and small enough that the axis length stays finite.
const LIMIT: f64 = 1e300;

pub struct Clamped(RangedCoordf64);

impl From<Range<f64>> for Clamped {
    fn from(r: Range<f64>) -> Self {
        let end = |v: f64| {
            if v.is_nan() {
                0.0
            } else {
                v.clamp(-LIMIT, LIMIT)
            }
        };
        let (lo, hi) = (end(r.start), end(r.end));
        let hi = if hi > lo {
            hi
        } else {
            lo + lo.abs().max(1.0) * 1e-6
        };
        Clamped((lo..hi).into())
    }
}

impl Ranged for Clamped {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let Range { start, end } = self.0.range();
        let len = end - start;
        let v = if value.is_nan() {
            start
        } else {
            value.clamp(start - len, end + len)
        };
        self.0.map(&v, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        self.0.key_points(hint)
    }

    fn range(&self) -> Range<f64> {
        self.0.range()
    }
}

impl ValueFormatter<f64> for Clamped {
    fn format(value: &f64) -> String {
        RangedCoordf64::format(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_far_outside_the_axis_maps_near_it() {
        let a = Clamped::from(-1.0..1.0);
        let px = |v: f64| a.map(&v, (100, 400));
        assert_eq!(px(-1.0), 100);
        assert_eq!(px(1.0), 400);
        // Beyond the axis by at most its length (300 px), for any value.
        for v in [1e300, f64::MAX, f64::INFINITY] {
            assert_eq!(px(v), 700, "{v}");
        }
        for v in [-1e300, f64::MIN, f64::NEG_INFINITY] {
            assert_eq!(px(v), -200, "{v}");
        }
        assert_eq!(px(f64::NAN), 100);
    }

    #[test]
    fn an_axis_of_no_length_or_of_no_numbers_still_has_one() {
        for r in [
            f64::NAN..f64::NAN,
            f64::INFINITY..f64::INFINITY,
            f64::NEG_INFINITY..f64::INFINITY,
            -f64::MAX..f64::MAX,
            3.0..3.0,
        ] {
            let a = Clamped::from(r.clone());
            let Range { start, end } = a.range();
            assert!(start.is_finite() && end.is_finite() && end > start, "{r:?}");
            assert!((end - start).is_finite(), "{r:?}");
            let _ = a.map(&f64::MAX, (0, i32::MAX / 4));
        }
    }
}
