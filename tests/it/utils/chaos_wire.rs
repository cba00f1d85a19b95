//! The chaos fake's HTTP/1.1 on raw TCP (`chaos`): reading one request (the headers it needs:
//! `content-length`, `authorization`, `stripe-account`) and writing an answer. Raw because the
//! fake must also drop connections without answering, which mock servers cannot.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;

/// One request as the fake reads it.
pub(super) struct Request {
    pub method: String,
    pub target: String,
    pub authorization: String,
    pub stripe_account: String,
    pub body: Vec<u8>,
}

pub(super) fn http(status: u16, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

pub(super) async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0usize;
    let mut authorization = String::new();
    let mut stripe_account = String::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("authorization") {
                authorization = value.trim().to_owned();
            } else if name.eq_ignore_ascii_case("stripe-account") {
                stripe_account = value.trim().to_owned();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        target,
        authorization,
        stripe_account,
        body,
    })
}
