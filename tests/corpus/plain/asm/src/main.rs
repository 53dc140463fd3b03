//! Inline assembly: `asm!` inside a function, and a whole function written
//! with `global_asm!` (module-level asm in the bitcode).

use std::arch::{asm, global_asm};

#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl corpus_scale",
    ".type corpus_scale,@function",
    "corpus_scale:",
    "    lea rax, [rdi + rdi*2]",
    "    add rax, rsi",
    "    ret",
    ".size corpus_scale, .-corpus_scale",
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl corpus_scale",
    ".type corpus_scale,%function",
    "corpus_scale:",
    "    add x0, x0, x0, lsl #1",
    "    add x0, x0, x1",
    "    ret",
    ".size corpus_scale, .-corpus_scale",
);

extern "C" {
    /// 3 * a + b
    fn corpus_scale(a: u64, b: u64) -> u64;
}

#[inline(never)]
fn rotate_mix(x: u64, n: u32) -> u64 {
    let out: u64;
    #[cfg(target_arch = "x86_64")]
    unsafe {
        asm!("rol {v}, cl", "xor {v}, {k}", v = inout(reg) x => out, k = in(reg) 0x5bd1e995u64,
             in("cl") n as u8, options(pure, nomem, nostack));
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        asm!("ror {v}, {v}, {s}", "eor {v}, {v}, {k}", v = inout(reg) x => out, k = in(reg) 0x5bd1e995u64,
             s = in(reg) (64 - n % 64) as u64, options(pure, nomem, nostack));
    }
    out
}

fn main() {
    let mut acc = 1u64;
    for i in 0..100u64 {
        acc = rotate_mix(acc, (i % 63) as u32).wrapping_add(unsafe { corpus_scale(i, acc) });
    }
    println!("asm mix = {acc:016x}");
}
