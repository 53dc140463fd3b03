//! Statistics on `geometry::Point`s: this module is where `stats` calls
//! into the `geometry` crate.

use crate::mean;
use geometry::{distance, Point};

/// Centroid of a set of points; the origin for an empty slice.
pub fn centroid(points: &[Point]) -> Point {
    let xs: Vec<f64> = points.iter().map(|p| p.x).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.y).collect();
    Point::new(mean(&xs), mean(&ys))
}

/// Mean distance of the points from their centroid.
pub fn spread(points: &[Point]) -> f64 {
    let c = centroid(points);
    let ds: Vec<f64> = points.iter().map(|&p| distance(p, c)).collect();
    mean(&ds)
}
