//! Folds C code from a dependency's rlib (compiled there by the `cc` crate).

fn main() {
    let state = (0..1000u32).fold(1u32, cmix_sys::mix);
    println!("c_mix over 0..1000 = {state:08x}");
}
