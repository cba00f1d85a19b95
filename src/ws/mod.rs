//! Live status for admins (SPEC §10): the [`hub::WsHub`] actor keeps rooms `tenant-<id>`,
//! [`session`] is the WebSocket endpoint `GET /ws`, and [`HubPublisher`] is the
//! `StatusPublisher` through which the tenant pipeline reaches the hub.

pub mod hub;
pub mod session;

use std::sync::Arc;

use actix::Addr;
use serde_json::json;

use crate::domain::TenantId;
use crate::publish::{StatusPublisher, StatusUpdate};
use hub::{Broadcast, WsHub};

pub use session::configure;

/// The one place a room name is made.
pub fn room_for(tenant: TenantId) -> String {
    format!("tenant-{tenant}")
}

/// Serialises each update once and hands it to the hub; never waits.
pub struct HubPublisher {
    hub: Addr<WsHub>,
}

impl HubPublisher {
    pub fn new(hub: Addr<WsHub>) -> Self {
        Self { hub }
    }
}

impl StatusPublisher for HubPublisher {
    fn publish(&self, tenant: TenantId, update: StatusUpdate) {
        let room = room_for(tenant);
        let data = update.data();
        let text = json!({ "event": update.name(), "room": room, "data": data }).to_string();
        self.hub.do_send(Broadcast {
            room,
            text: Arc::from(text),
        });
    }
}
