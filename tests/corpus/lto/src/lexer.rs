#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Num(i64),
    Op(char),
    Word(String),
}

pub fn lex(text: &str) -> Vec<Token> {
    text.split_whitespace()
        .map(|w| match w.parse() {
            Ok(n) => Token::Num(n),
            Err(_) if w.len() == 1 => Token::Op(w.chars().next().unwrap()),
            Err(_) => Token::Word(w.to_string()),
        })
        .collect()
}
