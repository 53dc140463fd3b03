//! Integration test: `stats` working on `geometry` points.

use geometry::Point;
use stats::{centroid, spread, summarize, COUNTER};
use std::sync::atomic::Ordering;

#[test]
fn centroid_of_square() {
    let sq = [
        Point::new(0.0, 0.0),
        Point::new(2.0, 0.0),
        Point::new(2.0, 2.0),
        Point::new(0.0, 2.0),
    ];
    assert_eq!(centroid(&sq), Point::new(1.0, 1.0));
    assert!((spread(&sq) - 2f64.sqrt()).abs() < 1e-12);
}

#[test]
fn summarize_bumps_counter() {
    let before = COUNTER.load(Ordering::SeqCst);
    let s = summarize(&[10u16, 20, 30]);
    assert_eq!(s.mean, 20.0);
    assert!(COUNTER.load(Ordering::SeqCst) >= before + 1);
}
