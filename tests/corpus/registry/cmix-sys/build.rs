// The `cc` crate compiles the C file into libmix.a, which rustc bundles into
// this crate's rlib beside its bitcode, as onig_sys or ring do.
fn main() {
    println!("cargo:rerun-if-changed=csrc/mix.c");
    cc::Build::new().file("csrc/mix.c").compile("mix");
}
