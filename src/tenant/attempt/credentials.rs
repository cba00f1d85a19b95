//! The seller's token at the moment of a fetch (SPEC §14): a connection that only a person can
//! mend fails the attempt before MercadoPago is called, and an OAuth token MercadoPago refuses is
//! refreshed once (through `connect::refresh`, which never runs two refreshes of a tenant at once)
//! before the attempt counts as failed.

use serde_json::json;

use crate::connect::{self, Reason, RefreshError};
use crate::domain::{Failure, MpConnection, TenantId};
use crate::tenant::processing::Processing;

/// `Err` when the tenant's connection state forbids calling the provider at all.
pub fn usable(tenant: &entity::tenant::Model) -> Result<(), Failure> {
    match MpConnection::parse(&tenant.mp_connection).blocks_processing() {
        None => Ok(()),
        Some(why) => Err(Failure::permanent(
            why,
            json!({ "service": "mercadopago", "mp_connection": tenant.mp_connection }),
        )),
    }
}

/// Whether a failed fetch is worth one refresh and one more try.
pub fn worth_refreshing(tenant: &entity::tenant::Model, failure: &Failure) -> bool {
    failure.credentials_refused
        && MpConnection::parse(&tenant.mp_connection) == MpConnection::Connected
}

/// A fresh access token in place of `stale`, or the failure the attempt ends with: `refused`
/// (the provider's own 401) when there was nothing to refresh.
pub async fn refreshed(
    svc: &Processing,
    tenant: TenantId,
    stale: &str,
    refused: Failure,
) -> Result<String, Failure> {
    let reason = Reason::Refused {
        stale_access_token: stale,
    };
    connect::refresh(&svc.connector, tenant, reason)
        .await
        .map_err(|err| match err {
            RefreshError::NotConnected => refused,
            RefreshError::Refused(why) => Failure::permanent(
                why,
                json!({ "service": "mercadopago", "refresh": "refused" }),
            ),
            RefreshError::Unavailable(why) => Failure::transient(
                format!("could not refresh the seller's MercadoPago token ({why}); will retry"),
                json!({ "service": "mercadopago", "refresh": "unavailable" }),
            ),
            RefreshError::Db(why) => Failure::transient(
                "database error while refreshing the seller's token; will retry",
                json!({ "service": "database", "error": why }),
            ),
        })
}
