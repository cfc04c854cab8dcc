//! Bodies over the 1 MiB limit: `/api/v1` answers 413 `too_large` in its JSON error
//! shape, OFREP answers 413 in OFREP's (`{errorCode: "GENERAL", errorDetails}`), as
//! documented, never a 400 or a plain-text page.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;

/// POSTs `body` over a raw connection (a client that sends its whole body, as
/// `fetch` does), returning the status and the JSON answer.
fn post_raw(s: &Server, path: &str, auth: &str, body: &str) -> (u16, Value) {
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut writer = stream.try_clone().unwrap();
    let body = body.to_string();
    // The server may answer before reading everything: keep writing regardless.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(body.as_bytes());
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        if let Some(end) = find(&answer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_string();
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if let Some(length) = length {
                if answer.len() >= end + 4 + length {
                    break;
                }
            }
        }
    }
    let _ = sender.join();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let json_text = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let json = serde_json::from_str(json_text).unwrap_or(Value::Null);
    (status, json)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn an_over_size_body_is_413_in_each_api_shape() {
    let (data, admin) = DataDir::init("body-limits");
    let s = Server::start(&data);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    let big = json!({ "context": { "targetingKey": "u1", "padding": "x".repeat((1 << 20) + 10) } })
        .to_string();

    let (status, answer) = post_raw(
        &s,
        "/api/v1/environments/production/flags",
        &format!("Bearer {editor}"),
        &big,
    );
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "too_large", "{answer}");
    // Field for field and in this order, as before the error answers were typed.
    assert_eq!(
        answer.to_string(),
        r#"{"error":{"code":"too_large","message":"the body is larger than 1048576 bytes"}}"#
    );

    let (status, answer) = post_raw(
        &s,
        "/ofrep/v1/evaluate/flags",
        &format!("Bearer {sdk}"),
        &big,
    );
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["errorCode"], "GENERAL", "{answer}");
    assert!(
        answer["errorDetails"]
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{answer}"
    );

    let (status, answer) = post_raw(
        &s,
        "/ofrep/v1/evaluate/flags/new-search",
        &format!("Bearer {sdk}"),
        &big,
    );
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        (answer["key"].as_str(), answer["errorCode"].as_str()),
        (Some("new-search"), Some("GENERAL")),
        "{answer}"
    );

    // Still authenticated first: no key, no evaluation of anything.
    let (status, _) = post_raw(&s, "/ofrep/v1/evaluate/flags", "Bearer nope", &big);
    assert_eq!(status, 401);
}
