//! The binary half: its crate is named `samename` too.

fn render(runs: &[(u8, usize)]) -> String {
    runs.iter().map(|&(b, n)| format!("{}{}", n, b as char)).collect()
}

fn main() {
    let text = b"wwwwaaadexxxxxxywww";
    let runs = samename::encode(text);
    assert_eq!(samename::decode(&runs), text);
    println!("{} -> {}", String::from_utf8_lossy(text), render(&runs));
}

#[cfg(test)]
mod tests {
    #[test]
    fn render_counts_then_byte() {
        assert_eq!(super::render(&[(b'x', 2), (b'y', 1)]), "2x1y");
    }
}
