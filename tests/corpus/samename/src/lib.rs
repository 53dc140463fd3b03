//! The library half of a package whose binary has the same crate name.

/// Run-length encoding: `aaab` -> `[(b'a', 3), (b'b', 1)]`.
pub fn encode(data: &[u8]) -> Vec<(u8, usize)> {
    let mut runs: Vec<(u8, usize)> = Vec::new();
    for &b in data {
        match runs.last_mut() {
            Some((last, n)) if *last == b => *n += 1,
            _ => runs.push((b, 1)),
        }
    }
    runs
}

pub fn decode(runs: &[(u8, usize)]) -> Vec<u8> {
    runs.iter().flat_map(|&(b, n)| std::iter::repeat(b).take(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_merged() {
        assert_eq!(encode(b"aaab"), vec![(b'a', 3), (b'b', 1)]);
    }

    #[test]
    fn decode_inverts_encode() {
        let data = b"mississippi";
        assert_eq!(decode(&encode(data)), data);
    }
}
