//! Functions on closed polygons given as slices of points. They loop and
//! call other functions, so rustc does not make them automatically
//! cross-crate inlinable: other crates reach them through real calls, which
//! is what ThinLTO's function import is for.

use crate::{distance, Point};

/// Perimeter of a closed polygon.
pub fn perimeter(points: &[Point]) -> f64 {
    let n = points.len();
    (0..n).map(|i| distance(points[i], points[(i + 1) % n])).sum()
}

/// Area of a simple polygon (shoelace formula).
pub fn area(points: &[Point]) -> f64 {
    let n = points.len();
    let twice: f64 = (0..n)
        .map(|i| {
            let (p, q) = (points[i], points[(i + 1) % n]);
            p.x * q.y - q.x * p.y
        })
        .sum();
    twice.abs() / 2.0
}

/// Isoperimetric quotient 4*pi*area / perimeter^2 (1.0 for a circle).
pub fn compactness(points: &[Point]) -> f64 {
    let p = perimeter(points);
    if p == 0.0 {
        return 0.0;
    }
    4.0 * std::f64::consts::PI * area(points) / (p * p)
}
