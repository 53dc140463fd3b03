//! Prints, then panics on purpose: under panic = "abort" the process dies of
//! SIGABRT after the panic message, and a Drop never runs.

struct Loud;

impl Drop for Loud {
    fn drop(&mut self) {
        println!("dropped (only when unwinding)");
    }
}

fn checked_mean(values: &[u32]) -> u32 {
    let sum: u32 = values.iter().sum();
    sum / values.len() as u32
}

fn main() {
    let _guard = Loud;
    println!("mean of 1..=9 = {}", checked_mean(&[1, 2, 3, 4, 5, 6, 7, 8, 9]));
    let values: Vec<u32> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    if values.is_empty() {
        panic!("deliberate panic: no values given ({} arguments)", values.len());
    }
    println!("mean of the arguments = {}", checked_mean(&values));
}
