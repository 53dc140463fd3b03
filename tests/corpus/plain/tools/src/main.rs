//! The package's default binary, `tools`.

fn main() {
    let primes: Vec<u32> = (2..100).filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0)).collect();
    println!("tools: {} primes below 100, the last {}", primes.len(), primes[primes.len() - 1]);
}
