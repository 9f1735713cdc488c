//! Helpers shared by the demo's test binaries: reading the chat's JSON events.

use std::time::Duration;

use ws_tokio::{Message, WebSocket};

/// The next message, which must be text and arrive within `limit`.
pub(crate) async fn next_text(ws: &mut WebSocket, limit: Duration) -> String {
    match tokio::time::timeout(limit, ws.recv())
        .await
        .expect("a message in time")
    {
        Some(Ok(Message::Text(t))) => t.as_str().to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// The value of a top-level `"key":` in the server's flat JSON (strings unescaped for `\"` and `\\` only).
pub(crate) fn field(json: &str, key: &str) -> String {
    let start = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"))
        + key.len()
        + 3;
    let rest = &json[start..];
    if let Some(s) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => out.push(chars.next().unwrap()),
                c => out.push(c),
            }
        }
        out
    } else {
        rest.split([',', '}']).next().unwrap().to_string()
    }
}
