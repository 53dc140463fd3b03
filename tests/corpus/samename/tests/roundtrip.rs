//! An integration test of the library.

#[test]
fn long_runs_round_trip() {
    let data: Vec<u8> = (0..1000).map(|i| (i / 97) as u8).collect();
    let runs = samename::encode(&data);
    assert_eq!(runs.len(), 11);
    assert_eq!(samename::decode(&runs), data);
}
