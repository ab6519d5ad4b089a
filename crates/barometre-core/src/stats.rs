//! The three shapes every figure takes: counts, ratios in percent, durations in seconds.

use serde::Serialize;

/// Linear interpolation between closest ranks (Excel `PERCENTILE.INC`, R type 7, numpy's
/// default). `sorted` must be ascending; `None` when empty.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub value: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    /// percent, 0–100; `None` when the denominator is 0
    pub value: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
}

impl Ratio {
    pub fn new(numerator: u64, denominator: u64) -> Ratio {
        let value = (denominator > 0).then(|| numerator as f64 * 100.0 / denominator as f64);
        Ratio { value, numerator, denominator }
    }
}

/// A distribution of durations, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
}

impl Durations {
    /// From milliseconds. Sums are exact integers and quantiles come from selection, so the
    /// result never depends on the order of the values.
    pub fn from_ms(mut v: Vec<i64>) -> Durations {
        Durations::of(&mut v)
    }

    /// As [`Durations::from_ms`], reordering `v` in place.
    pub fn of(v: &mut [i64]) -> Durations {
        let n = v.len();
        if n == 0 {
            return Durations { count: 0, mean: None, median: None, p90: None, min: None, max: None, sum: 0.0 };
        }
        let sum: i128 = v.iter().map(|&x| i128::from(x)).sum();
        let min = v.iter().copied().min().unwrap_or(0);
        let max = v.iter().copied().max().unwrap_or(0);
        // Quantiles asked in increasing order: once the median is in place, everything from it
        // on is at least it, so the p90 is selected among those only.
        let mut from = 0;
        let mut q = |p: f64| -> f64 {
            let h = (n - 1) as f64 * p;
            let lo = h.floor() as usize;
            let frac = h - lo as f64;
            let (_, a, rest) = v[from..].select_nth_unstable(lo - from);
            let a = *a;
            let b = if frac > 0.0 { rest.iter().copied().min().unwrap_or(a) } else { a };
            from = lo;
            (a as f64 + frac * (b - a) as f64) / 1000.0
        };
        let median = q(0.5);
        let p90 = q(0.9);
        Durations {
            count: n as u64,
            mean: Some(sum as f64 / n as f64 / 1000.0),
            median: Some(median),
            p90: Some(p90),
            min: Some(min as f64 / 1000.0),
            max: Some(max as f64 / 1000.0),
            sum: sum as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::median_of_even(&[1.0, 2.0, 3.0, 4.0], 0.5, 2.5)]
    #[case::p90_interpolates(&[10.0, 20.0, 30.0, 40.0, 50.0], 0.9, 46.0)]
    #[case::single(&[7.0], 0.9, 7.0)]
    fn quantiles_match_excel_percentile_inc(#[case] v: &[f64], #[case] p: f64, #[case] q: f64) {
        // PERCENTILE.INC({10,20,30,40,50}, 0.9): h = 4 × 0.9 = 3.6 → 40 + 0.6 × 10 = 46.
        assert!((quantile(v, p).unwrap() - q).abs() < 1e-9);
    }

    #[test]
    fn durations_by_selection_match_the_sorted_quantiles() {
        let d = Durations::from_ms(vec![50_000, 10_000, 40_000, 20_000, 30_000]);
        assert_eq!((d.count, d.mean, d.median, d.p90), (5, Some(30.0), Some(30.0), Some(46.0)));
        assert_eq!((d.min, d.max, d.sum), (Some(10.0), Some(50.0), 150.0));
    }

    #[test]
    fn no_data_is_null_never_zero() {
        let d = Durations::from_ms(vec![]);
        assert_eq!((d.count, d.mean, d.median, d.p90), (0, None, None, None));
        assert_eq!(Ratio::new(0, 0).value, None);
        assert_eq!(Ratio::new(63, 100).value, Some(63.0));
    }
}

/// Sorts `(hash, value)` pairs as `sort_unstable` would. Millions of pairs are first spread into
/// buckets by the hash's top byte, each then sorted on its own: small enough for the cache, where
/// one sort of them all goes to main memory at every level.
pub fn sort_pairs(v: &mut Vec<(u64, u32)>) {
    if v.len() < 1 << 16 {
        v.sort_unstable();
        return;
    }
    // A few sorted runs end to end (a total gathered from its groups' sorted pairs): the stable
    // sort merges the runs it finds, in sequential passes. Equal pairs being alike, the order is
    // the same as an unstable sort's.
    if v.windows(2).filter(|w| w[0] > w[1]).take(256).count() < 256 {
        v.sort();
        return;
    }
    let mut start = [0usize; 257];
    for &(h, _) in v.iter() {
        start[(h >> 56) as usize + 1] += 1;
    }
    for b in 0..256 {
        start[b + 1] += start[b];
    }
    let mut out = vec![(0u64, 0u32); v.len()];
    let mut at = start;
    for &x in v.iter() {
        let b = (x.0 >> 56) as usize;
        out[at[b]] = x;
        at[b] += 1;
    }
    for b in 0..256 {
        out[start[b]..start[b + 1]].sort_unstable();
    }
    *v = out;
}

#[cfg(test)]
mod sort_tests {
    proptest::proptest! {
        #[test]
        fn quantiles_by_selection_equal_the_sorted_ones(v in proptest::collection::vec(-5i64..2000, 1..300)) {
            let d = super::Durations::from_ms(v.clone());
            let mut sorted: Vec<f64> = v.iter().map(|&x| x as f64 / 1000.0).collect();
            sorted.sort_by(f64::total_cmp);
            let close = |a: Option<f64>, b: Option<f64>| (a.unwrap() - b.unwrap()).abs() < 1e-12;
            proptest::prop_assert!(close(d.median, super::quantile(&sorted, 0.5)), "{:?} {:?}", d.median, super::quantile(&sorted, 0.5));
            proptest::prop_assert!(close(d.p90, super::quantile(&sorted, 0.9)), "{:?} {:?}", d.p90, super::quantile(&sorted, 0.9));
        }

        #[test]
        fn sorting_pairs_in_buckets_equals_one_sort(seed in 0u64..1000, n in 60_000usize..70_000) {
            let mut rng = crate::demo::Rng::new(seed);
            // Few distinct hashes, so that equal pairs and equal hashes abound.
            let keys: Vec<u64> = (0..5000).map(|_| rng.next_u64()).collect();
            let v: Vec<(u64, u32)> =
                (0..n).map(|_| (keys[rng.below(5000) as usize], rng.below(4) as u32)).collect();
            let mut a = v.clone();
            a.sort_unstable();
            let mut b = v.clone();
            super::sort_pairs(&mut b);
            proptest::prop_assert_eq!(&a, &b);
            // Sorted runs end to end, as a total gathers its groups'.
            let mut runs: Vec<(u64, u32)> = Vec::new();
            for part in v.chunks(n / 7 + 1) {
                let mut p = part.to_vec();
                p.sort_unstable();
                runs.extend(p);
            }
            super::sort_pairs(&mut runs);
            proptest::prop_assert_eq!(&a, &runs);
        }
    }
}
