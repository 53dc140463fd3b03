//! A binary with a hyphen in its name: cargo writes it as `my-tool`.

fn main() {
    let name = std::env::args().next().unwrap_or_default();
    let base = name.rsplit('/').next().unwrap_or_default();
    let fib = (0..40).fold((0u64, 1u64), |(a, b), _| (b, a + b)).0;
    println!("{base}: fib(40) = {fib}");
}
