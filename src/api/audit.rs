//! The audit trail as the admin API meets it (SPEC §20): who a request acts as, for the store
//! functions that record changes ([`By`] from the request: the caller the token resolved to, the
//! peer's address, the request's `x-request-id`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::auth::Caller;
use crate::error::AppError;
use crate::store::audit::{Actor, By, Origin};

impl From<Caller> for Actor {
    fn from(caller: Caller) -> Self {
        match caller {
            Caller::SuperAdmin => Actor::SuperAdmin,
            Caller::Tenant(id) => Actor::Tenant(id),
        }
    }
}

/// The origin of a request: its peer (not a forwarded-for header, which the client writes) and
/// the `x-request-id` it came with.
pub fn origin_of(req: &HttpRequest) -> Origin {
    Origin {
        remote_addr: req.peer_addr().map(|addr| addr.ip().to_string()),
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned),
    }
}

impl FromRequest for By {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let by = Caller::from_request(req, payload)
            .into_inner()
            .map(|caller| By {
                actor: caller.into(),
                origin: origin_of(req),
            });
        ready(by)
    }
}
