//! A safe wrapper over C code compiled by this crate's build script.

extern "C" {
    fn c_mix(state: u32, value: u32) -> u32;
}

pub fn mix(state: u32, value: u32) -> u32 {
    unsafe { c_mix(state, value) }
}
