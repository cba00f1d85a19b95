//! `GET /ws`: one `WsSession` actor per connection. The only module that knows actix-web-actors,
//! so moving to `actix-ws` later is a one-file change. The token is checked before the upgrade
//! (401); a tenant token joins its room at once, the super admin subscribes to rooms on request.
//! The session pings every 5 s and drops a client silent for 15 s; its mailbox is bounded so
//! that the hub can tell a client that stopped reading.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use serde::Deserialize;
use serde_json::json;

use super::hub::{Connect, Deliver, Disconnect, Evicted, Join, Leave, Member, SessionId, WsHub};
use super::room_for;
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::state::AppState;

const PING_EVERY: Duration = Duration::from_secs(5);
const SILENCE_LIMIT: Duration = Duration::from_secs(15);
/// Frames waiting for a client; past this the client is too slow and the hub drops it. Large
/// enough for a burst of a busy tenant (~400 bytes a frame, so at most ~400 KB held per client).
const MAILBOX_CAPACITY: usize = 1024;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws").route(web::get().to(connect)));
}

#[utoipa::path(get, path = "/ws", tag = "live", security(("bearer" = [])), params(("token" = Option<String>, Query, description = "the token, for browsers that cannot set Authorization")),
    responses((status = 101, description = "WebSocket: rooms tenant-<id>, paymentStatusUpdated and webhookEventUpdated"),
        (status = 400, description = "not a WebSocket handshake", body = crate::error::ErrorBody),
        (status = 401, description = "missing or wrong token", body = crate::error::ErrorBody)))]
pub(crate) async fn connect(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let token = auth::bearer(&req).or_else(|| token_from_query(&req));
    let caller = match auth::authenticate(&state.services, token.as_deref()).await {
        Ok(caller) => caller,
        Err(AppError::AdminNotConfigured) => {
            return Err(AppError::Unauthorized("invalid token".into()));
        }
        Err(err) => return Err(err),
    };
    let session = WsSession {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        caller,
        hub: state.hub.clone(),
        rooms: HashSet::new(),
        heard: Instant::now(),
    };
    ws::WsResponseBuilder::new(session, &req, stream)
        .start()
        .map_err(|e| AppError::BadRequest(format!("not a WebSocket handshake: {e}")))
}

fn token_from_query(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| !token.is_empty())
}

/// What a client may send.
#[derive(Deserialize)]
struct Command {
    action: String,
    room: String,
}

struct WsSession {
    id: SessionId,
    caller: Caller,
    hub: Addr<WsHub>,
    rooms: HashSet<String>,
    heard: Instant,
}

impl WsSession {
    fn may_enter(&self, room: &str) -> bool {
        match self.caller {
            Caller::SuperAdmin => room
                .strip_prefix("tenant-")
                .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
            Caller::Tenant(own) => room == room_for(own),
        }
    }

    fn member(ctx: &mut ws::WebsocketContext<Self>) -> Member {
        Member {
            deliver: ctx.address().recipient(),
            evict: ctx.address().recipient(),
        }
    }

    fn join(&mut self, room: String, ctx: &mut ws::WebsocketContext<Self>) {
        let member = Self::member(ctx);
        self.hub.do_send(Join {
            session: self.id,
            room: room.clone(),
            member,
        });
        ctx.text(json!({ "event": "subscribed", "room": room }).to_string());
        self.rooms.insert(room);
    }

    fn leave(&mut self, room: String, ctx: &mut ws::WebsocketContext<Self>) {
        self.hub.do_send(Leave {
            session: self.id,
            room: room.clone(),
        });
        self.rooms.remove(&room);
        ctx.text(json!({ "event": "unsubscribed", "room": room }).to_string());
    }

    fn command(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let Ok(command) = serde_json::from_str::<Command>(text) else {
            return error(
                ctx,
                "expected {\"action\":\"subscribe\"|\"unsubscribe\",\"room\":\"tenant-<id>\"}",
            );
        };
        match command.action.as_str() {
            "subscribe" if self.may_enter(&command.room) => self.join(command.room, ctx),
            "subscribe" => error(ctx, "forbidden"),
            "unsubscribe" => self.leave(command.room, ctx),
            _ => error(ctx, "unknown action"),
        }
    }
}

fn error(ctx: &mut ws::WebsocketContext<WsSession>, message: &str) {
    ctx.text(json!({ "event": "error", "message": message }).to_string());
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        metrics::gauge!("cobro_ws_sessions").increment(1.0);
        self.hub.do_send(Connect {
            session: self.id,
            member: Self::member(ctx),
        });
        ctx.run_interval(PING_EVERY, |session, ctx| {
            if session.heard.elapsed() > SILENCE_LIMIT {
                tracing::info!(session = session.id, "WebSocket client silent; closing");
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
        if let Caller::Tenant(tenant) = self.caller {
            self.join(room_for(tenant), ctx);
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics::gauge!("cobro_ws_sessions").decrement(1.0);
        self.hub.do_send(Disconnect { session: self.id });
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.heard = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => self.command(&text, ctx),
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(
                ws::Message::Pong(_)
                | ws::Message::Binary(_)
                | ws::Message::Continuation(_)
                | ws::Message::Nop,
            ) => {}
            Err(err) => {
                tracing::debug!(error = %err, "WebSocket protocol error");
                ctx.stop();
            }
        }
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        ctx.text(&*msg.0);
    }
}

impl Handler<Evicted> for WsSession {
    type Result = ();

    fn handle(&mut self, why: Evicted, ctx: &mut Self::Context) {
        let (code, description) = match why {
            Evicted::TooSlow => (ws::CloseCode::Again, "too slow"),
            Evicted::GoingAway => (ws::CloseCode::Away, "server shutting down"),
        };
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(description.into()),
        }));
        ctx.stop();
    }
}
