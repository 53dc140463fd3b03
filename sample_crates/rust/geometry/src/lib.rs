//! Plane geometry: points, a generic pair, and a few small functions that
//! other crates call (small enough for ThinLTO to import, deliberately not
//! marked `#[inline]`).

use std::sync::atomic::{AtomicUsize, Ordering};

mod polygon;

pub use polygon::{area, compactness, perimeter};

/// Number of times `distance` has been called (a mutated static).
pub static DISTANCE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// An immutable static read by other crates.
pub static ORIGIN: Point = Point { x: 0.0, y: 0.0 };

/// A point in the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
}

/// A generic pair, instantiated with different types by other crates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair<T> {
    pub first: T,
    pub second: T,
}

impl<T: Copy + PartialOrd> Pair<T> {
    pub fn new(first: T, second: T) -> Pair<T> {
        Pair { first, second }
    }

    /// The larger of the two elements.
    pub fn larger(&self) -> T {
        if self.first >= self.second {
            self.first
        } else {
            self.second
        }
    }

    /// The pair with its elements swapped.
    pub fn swapped(&self) -> Pair<T> {
        Pair::new(self.second, self.first)
    }
}

/// Private helper: squared difference.
fn sq_diff(a: f64, b: f64) -> f64 {
    let d = a - b;
    d * d
}

/// Euclidean distance between two points. Counts its calls.
pub fn distance(a: Point, b: Point) -> f64 {
    DISTANCE_CALLS.fetch_add(1, Ordering::Relaxed);
    (sq_diff(a.x, b.x) + sq_diff(a.y, b.y)).sqrt()
}

/// Distance from the origin.
pub fn norm(p: Point) -> f64 {
    distance(ORIGIN, p)
}

/// Twice the signed area of the triangle (a, b, c).
pub fn cross(a: Point, b: Point, c: Point) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_345() {
        assert_eq!(distance(Point::new(0.0, 0.0), Point::new(3.0, 4.0)), 5.0);
    }

    #[test]
    fn square_area_and_perimeter() {
        let sq = [
            Point::new(0.0, 0.0),
            Point::new(2.0, 0.0),
            Point::new(2.0, 2.0),
            Point::new(0.0, 2.0),
        ];
        assert_eq!(area(&sq), 4.0);
        assert_eq!(perimeter(&sq), 8.0);
        assert!((compactness(&sq) - std::f64::consts::PI / 4.0).abs() < 1e-12);
    }

    #[test]
    fn pair_larger() {
        assert_eq!(Pair::new(3, 7).larger(), 7);
        assert_eq!(Pair::new(2.5, -1.0).swapped(), Pair::new(-1.0, 2.5));
    }

    #[test]
    fn private_helper() {
        assert_eq!(sq_diff(5.0, 2.0), 9.0);
    }
}
