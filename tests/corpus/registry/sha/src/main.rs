//! SHA-256 and SHA-512 through sha2's run-time CPU-feature dispatch.

use sha2::{Digest, Sha256, Sha512};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    println!("sha256(abc) = {}", hex(&Sha256::digest(b"abc")));
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut h = Sha256::new();
    for chunk in data.chunks(4093) {
        h.update(chunk);
    }
    println!("sha256(1 MB) = {}", hex(&h.finalize()));
    println!("sha512(1 MB) = {}", hex(&Sha512::digest(&data)));
}
