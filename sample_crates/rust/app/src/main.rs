//! Prints a short, deterministic report using `geometry` and `stats`.

use geometry::{area, compactness, norm, perimeter, Pair, Point, DISTANCE_CALLS};
use stats::{max_of, mean, median, spread, summarize, COUNTER};
use std::sync::atomic::Ordering;

/// Report title (a plain static).
static TITLE: &str = "thinwatch sample report";

/// Private helper: a convex pentagon with integer coordinates.
fn shape() -> Vec<Point> {
    vec![
        Point::new(0.0, 0.0),
        Point::new(4.0, 0.0),
        Point::new(5.0, 3.0),
        Point::new(2.0, 5.0),
        Point::new(-1.0, 3.0),
    ]
}

fn main() {
    let pts = shape();
    let ints: Vec<i32> = vec![3, 1, 4, 1, 5, 9, 2, 6];
    let floats: Vec<f32> = vec![2.5, 3.5, 1.0];

    println!("{TITLE}");
    println!("area = {:.3}, perimeter = {:.3}", area(&pts), perimeter(&pts));
    println!("norm(last) = {:.3}, compactness = {:.3}", norm(pts[pts.len() - 1]), compactness(&pts));
    println!("mean(ints) = {:.3}, mean(floats) = {:.3}", mean(&ints), mean(&floats));
    println!("max(ints) = {:?}, larger(pair) = {}", max_of(&ints), Pair::new(7u64, 11).larger());
    println!("summary(ints) = {:?}", summarize(&ints));
    println!("summary(floats) = {:?}", summarize(&floats));
    let xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
    println!("spread = {:.3}, median(x) = {:.3}", spread(&pts), median(&xs));
    println!(
        "distance calls = {}, summaries = {}",
        DISTANCE_CALLS.load(Ordering::Relaxed),
        COUNTER.load(Ordering::SeqCst)
    );
}
