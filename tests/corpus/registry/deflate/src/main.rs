//! flate2 over the system zlib (libz-sys): compress, check the CRC, inflate.

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use std::io::{Read, Write};

fn text() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..2000u32 {
        writeln!(out, "line {i}: {}", "abcdefghij".repeat((i % 7) as usize)).unwrap();
    }
    out
}

fn main() {
    let plain = text();
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::new(6));
    enc.write_all(&plain).unwrap();
    let packed = enc.finish().unwrap();
    let mut crc = Crc::new();
    crc.update(&packed);
    let mut unpacked = Vec::new();
    ZlibDecoder::new(&packed[..]).read_to_end(&mut unpacked).unwrap();
    assert_eq!(unpacked, plain, "inflate did not give the input back");
    println!("plain {} bytes, packed {} bytes, crc32 of packed {:08x}", plain.len(), packed.len(), crc.sum());
}
