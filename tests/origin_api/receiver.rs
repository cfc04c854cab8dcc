//! A webhook receiver for the tests: an HTTP server on an ephemeral port that reads
//! each request whole (head and `content-length` body) and answers with an empty
//! response whose status the test chooses.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

/// Reads one request: its head (request line and headers, with the blank line) and
/// body, or what arrived before the peer closed.
fn read_request(stream: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let k = stream.read(&mut chunk).unwrap_or(0);
        buf.extend_from_slice(&chunk[..k]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len || k == 0 {
                let (head, body) = text.split_at(end + 4);
                return (head.to_string(), body.to_string());
            }
        }
        if k == 0 {
            return (text, String::new());
        }
    }
}

/// Starts a receiver. `status(n, head)` is the status line for the `n`th request
/// (from 0), given its head; each request's (head, body) goes to the channel.
pub(super) fn start(
    status: impl Fn(usize, &str) -> &'static str + Send + 'static,
) -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let (head, body) = read_request(&mut stream);
            let status = status(n, &head);
            let _ = tx.send((head, body));
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (port, rx)
}
