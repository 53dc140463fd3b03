//! A small stack-machine interpreter over several modules, so that
//! incremental codegen units split it.

mod lexer;
mod machine;

fn main() {
    let program = "3 4 + 5 * dup * 7 % 100 swap - 12 3 / +";
    let tokens = lexer::lex(program);
    let result = machine::run(&tokens).expect("program runs");
    println!("{program} => {result}");
    let squares: i64 = (1..=20).map(|n| machine::run(&lexer::lex(&format!("{n} dup *"))).unwrap()).sum();
    println!("sum of squares 1..=20 = {squares}");
}
