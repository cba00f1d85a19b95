//! `WsHub`: rooms of WebSocket sessions. It holds `Recipient`s, not session types, so it knows
//! nothing of actix-web-actors. Delivery is `try_send`: a session whose bounded mailbox is full
//! (a client that stopped reading) or closed is dropped from every room and told to go, so a slow
//! client never slows the hub or anyone else.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::dev::SendError;
use actix::prelude::*;

/// A text frame for one session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver(pub Arc<str>);

/// Close the socket, for this reason.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum Evicted {
    /// Its mailbox was full: the client stopped reading.
    TooSlow,
    /// The server is shutting down.
    GoingAway,
}

pub type SessionId = u64;

/// A session's two inboxes, as the hub needs them.
#[derive(Clone)]
pub struct Member {
    pub deliver: Recipient<Deliver>,
    pub evict: Recipient<Evicted>,
}

/// A session opened; the hub keeps it to say goodbye at shutdown even if it joined no room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub session: SessionId,
    pub member: Member,
}

/// Shutting down: every session is told to close (WebSocket close code 1001).
#[derive(Message)]
#[rtype(result = "()")]
pub struct GoingAway;

/// Put a session in a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub session: SessionId,
    pub room: String,
    pub member: Member,
}

/// Take a session out of a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub session: SessionId,
    pub room: String,
}

/// A session ended: take it out of every room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub session: SessionId,
}

/// Send `text` to every session in `room`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast {
    pub room: String,
    pub text: Arc<str>,
}

/// How many sessions are in a room (tests and diagnostics).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct RoomSize(pub String);

#[derive(Default)]
pub struct WsHub {
    rooms: HashMap<String, HashMap<SessionId, Member>>,
    sessions: HashMap<SessionId, Member>,
}

impl WsHub {
    fn remove_everywhere(&mut self, session: SessionId) {
        self.sessions.remove(&session);
        self.rooms.retain(|_, members| {
            members.remove(&session);
            !members.is_empty()
        });
    }
}

impl Actor for WsHub {
    type Context = Context<Self>;
}

impl Handler<Connect> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.sessions.insert(msg.session, msg.member);
    }
}

impl Handler<GoingAway> for WsHub {
    type Result = ();

    fn handle(&mut self, _: GoingAway, _: &mut Context<Self>) {
        for member in self.sessions.values() {
            member.evict.do_send(Evicted::GoingAway);
        }
        self.sessions.clear();
        self.rooms.clear();
    }
}

impl Handler<Join> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        self.rooms
            .entry(msg.room)
            .or_default()
            .insert(msg.session, msg.member);
    }
}

impl Handler<Leave> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        if let Some(members) = self.rooms.get_mut(&msg.room) {
            members.remove(&msg.session);
            if members.is_empty() {
                self.rooms.remove(&msg.room);
            }
        }
    }
}

impl Handler<Disconnect> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.remove_everywhere(msg.session);
    }
}

impl Handler<Broadcast> for WsHub {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        let Some(members) = self.rooms.get(&msg.room) else {
            return;
        };
        let mut dropped = HashSet::new();
        for (session, member) in members {
            match member.deliver.try_send(Deliver(msg.text.clone())) {
                Ok(()) => {}
                Err(SendError::Full(_)) => {
                    tracing::warn!(session, room = %msg.room, "WebSocket client too slow; dropping it");
                    member.evict.do_send(Evicted::TooSlow);
                    dropped.insert(*session);
                }
                Err(SendError::Closed(_)) => {
                    dropped.insert(*session);
                }
            }
        }
        for session in dropped {
            self.remove_everywhere(session);
        }
    }
}

impl Handler<RoomSize> for WsHub {
    type Result = usize;

    fn handle(&mut self, msg: RoomSize, _: &mut Context<Self>) -> usize {
        self.rooms.get(&msg.0).map_or(0, HashMap::len)
    }
}
