//! A real WebSocket client (awc) for tests: connect with a token in the query or the header,
//! send commands, and read JSON messages with a time limit (pings are answered and skipped).

use std::time::Duration;

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

pub type Connection = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

pub enum TokenIn {
    Query,
    Header,
}

pub struct WsClient {
    conn: Connection,
}

impl WsClient {
    pub async fn connect(
        base_url: &str,
        token: &str,
        how: TokenIn,
    ) -> Result<Self, awc::error::WsClientError> {
        let ws_url = base_url.replacen("http://", "ws://", 1);
        let client = awc::Client::builder()
            .max_http_version(awc::http::Version::HTTP_11)
            .finish();
        let request = match how {
            TokenIn::Query => client.ws(format!("{ws_url}/ws?token={token}")),
            TokenIn::Header => client.ws(format!("{ws_url}/ws")).bearer_auth(token),
        };
        let (_, conn) = request.max_frame_size(1 << 20).connect().await?;
        Ok(Self { conn })
    }

    pub async fn send(&mut self, value: Value) {
        self.conn
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send to server");
    }

    /// The next JSON text message, or `None` after `wait` with nothing.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.conn.next())
                .await
                .ok()??;
            match frame.ok()? {
                Frame::Text(bytes) => return serde_json::from_slice(&bytes).ok(),
                Frame::Ping(bytes) => {
                    let _ = self.conn.send(Message::Pong(bytes)).await;
                }
                Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// Reads until a message with this `event` name for which `keep` holds; skips others.
    pub async fn until(&mut self, event: &str, keep: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.next().await;
            if message["event"] == event && keep(&message) {
                return message;
            }
        }
    }
}

impl WsClient {
    /// Reads without ever answering pings; true once the server closes the connection.
    pub async fn closed_by_server_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.conn.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Frame::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
