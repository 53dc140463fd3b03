//! terminal_size and rustix: system calls made by inline assembly.

use terminal_size::{terminal_size, Height, Width};

fn main() {
    // The tests run it with stdout on a pipe, where there is no size.
    match terminal_size() {
        Some((Width(w), Height(h))) => println!("terminal {w}x{h}"),
        None => println!("stdout is not a terminal"),
    }
    let (reader, writer) = rustix::io::pipe().expect("pipe");
    let message = b"through a rustix pipe";
    assert_eq!(rustix::io::write(&writer, message).expect("write"), message.len());
    let mut buf = [0u8; 64];
    let n = rustix::io::read(&reader, &mut buf).expect("read");
    println!("{} ({n} bytes)", String::from_utf8_lossy(&buf[..n]));
}
