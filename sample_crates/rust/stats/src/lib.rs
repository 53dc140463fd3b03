//! Simple statistics over slices, generic over the element type, plus a
//! couple of functions on `geometry::Point`s.

use std::sync::atomic::{AtomicUsize, Ordering};

mod points;

pub use points::{centroid, spread};

/// Number of summaries computed so far (a mutated static).
pub static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Number of decimal places used by `round_to`.
pub static DECIMALS: u32 = 3;

/// Private helper: sum of a slice converted to f64.
fn sum_f64<T: Into<f64> + Copy>(xs: &[T]) -> f64 {
    xs.iter().map(|&x| x.into()).sum()
}

/// Arithmetic mean; 0.0 for an empty slice.
pub fn mean<T: Into<f64> + Copy>(xs: &[T]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    sum_f64(xs) / xs.len() as f64
}

/// Population variance; 0.0 for an empty slice.
pub fn variance<T: Into<f64> + Copy>(xs: &[T]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter()
        .map(|&x| {
            let d = x.into() - m;
            d * d
        })
        .sum::<f64>()
        / xs.len() as f64
}

/// Largest element, or `None` for an empty slice.
pub fn max_of<T: PartialOrd + Copy>(xs: &[T]) -> Option<T> {
    let mut it = xs.iter().copied();
    let first = it.next()?;
    Some(it.fold(first, |m, x| if x > m { x } else { m }))
}

/// Median of a sample (mean of the two middle values for even lengths);
/// 0.0 for an empty slice. A small non-generic function that calls into std.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Rounds to `DECIMALS` decimal places.
pub fn round_to(x: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS as i32);
    (x * scale).round() / scale
}

/// Summary of a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub variance: f64,
}

/// Computes a summary and bumps `COUNTER`.
pub fn summarize<T: Into<f64> + Copy>(xs: &[T]) -> Summary {
    COUNTER.fetch_add(1, Ordering::SeqCst);
    Summary {
        count: xs.len(),
        mean: round_to(mean(xs)),
        variance: round_to(variance(xs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_ints_and_floats() {
        assert_eq!(mean(&[1u32, 2, 3, 4]), 2.5);
        assert_eq!(mean(&[1.5f32, 2.5]), 2.0);
        assert_eq!(mean::<i32>(&[]), 0.0);
    }

    #[test]
    fn variance_and_max() {
        assert_eq!(variance(&[2i32, 4, 4, 4, 5, 5, 7, 9]), 4.0);
        assert_eq!(max_of(&[3, 9, 2]), Some(9));
        assert_eq!(max_of::<u8>(&[]), None);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn private_sum() {
        assert_eq!(sum_f64(&[1u8, 2, 3]), 6.0);
    }

    #[test]
    fn summarize_counts() {
        let before = COUNTER.load(Ordering::SeqCst);
        let s = summarize(&[1.0f64, 2.0, 3.0]);
        assert_eq!(s.count, 3);
        assert_eq!(s.mean, 2.0);
        assert!(COUNTER.load(Ordering::SeqCst) > before);
    }
}
