//! rayon's work-stealing pool: parallel map/reduce and sort, deterministic
//! results whatever the scheduling.

use rayon::prelude::*;

fn weight(i: u64) -> u64 {
    (i * i + 7 * i) % 1009
}

fn main() {
    rayon::ThreadPoolBuilder::new().num_threads(3).build_global().unwrap();
    let total: u64 = (0..1_000_000u64).into_par_iter().map(weight).sum();
    let mut values: Vec<u64> = (0..100_000u64).into_par_iter().map(|i| weight(i) * 1_000_003 % 65_521).collect();
    values.par_sort_unstable();
    let checksum = values.par_iter().enumerate().map(|(i, v)| (i as u64 + 1) * v).reduce(|| 0, u64::wrapping_add);
    println!("sum = {total}, median = {}, checksum = {checksum}", values[values.len() / 2]);
}
