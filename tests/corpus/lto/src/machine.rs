use crate::lexer::Token;

pub fn run(tokens: &[Token]) -> Result<i64, String> {
    let mut stack: Vec<i64> = Vec::new();
    for t in tokens {
        match t {
            Token::Num(n) => stack.push(*n),
            Token::Op(op) => {
                let b = stack.pop().ok_or("stack underflow")?;
                let a = stack.pop().ok_or("stack underflow")?;
                stack.push(match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a.checked_div(b).ok_or("division by zero")?,
                    '%' => a.checked_rem(b).ok_or("division by zero")?,
                    _ => return Err(format!("unknown operator {op}")),
                });
            }
            Token::Word(w) if w == "dup" => {
                let top = *stack.last().ok_or("stack underflow")?;
                stack.push(top);
            }
            Token::Word(w) if w == "swap" => {
                let n = stack.len();
                if n < 2 {
                    return Err("stack underflow".into());
                }
                stack.swap(n - 1, n - 2);
            }
            Token::Word(w) => return Err(format!("unknown word {w}")),
        }
    }
    stack.pop().ok_or_else(|| "empty stack".into())
}
