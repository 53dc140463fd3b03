//! Integration test: uses only the public API of `geometry`.

use geometry::{area, cross, norm, Pair, Point, ORIGIN};

#[test]
fn triangle_area_matches_cross_product() {
    let (a, b, c) = (Point::new(0.0, 0.0), Point::new(4.0, 0.0), Point::new(0.0, 3.0));
    assert_eq!(area(&[a, b, c]), cross(a, b, c).abs() / 2.0);
    assert_eq!(area(&[a, b, c]), 6.0);
}

#[test]
fn norm_is_distance_from_origin() {
    assert_eq!(norm(Point::new(-6.0, 8.0)), 10.0);
    assert_eq!(norm(ORIGIN), 0.0);
}

#[test]
fn pair_of_bytes() {
    let p = Pair::new(1u8, 200u8);
    assert_eq!(p.larger(), 200);
}
