//! tokio's multi-thread runtime: tasks, a channel and timers; the result is
//! independent of scheduling.

use tokio::sync::mpsc;
use tokio::time::{sleep, Duration};

async fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
        if steps % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    steps
}

#[tokio::main(worker_threads = 2)]
async fn main() {
    let (tx, mut rx) = mpsc::channel(16);
    for start in 1..=200u64 {
        let tx = tx.clone();
        tokio::spawn(async move {
            sleep(Duration::from_millis(start % 5)).await;
            tx.send((start, collatz_steps(start).await)).await.unwrap();
        });
    }
    drop(tx);
    let mut results = Vec::new();
    while let Some(r) = rx.recv().await {
        results.push(r);
    }
    results.sort();
    let total: u64 = results.iter().map(|(_, s)| s).sum();
    let longest = results.iter().max_by_key(|(n, s)| (*s, std::cmp::Reverse(*n))).unwrap();
    println!("{} tasks, {total} steps in all, longest from {} ({} steps)", results.len(), longest.0, longest.1);
}
