//! The seller's account and token at the moment of a fetch (SPEC §14, §19): the tenant's account
//! at the provider the event came from, a connection that only a person can mend failing the
//! attempt before the provider is called, and an OAuth token MercadoPago refuses is
//! refreshed once (through `connect::refresh`, which never runs two refreshes of a tenant at once)
//! before the attempt counts as failed.

use serde_json::json;

use std::sync::Arc;

use entity::webhook_event;

use super::{Steps, Stop};
use crate::connect::{self, Reason, RefreshError};
use crate::domain::{Account, Failure, MpConnection, Provider, Tenant, TenantId};
use crate::tenant::failure;
use crate::tenant::processing::Processing;

impl Steps<'_> {
    /// The tenant as it is now (the directory's copy, at most its TTL old).
    pub async fn tenant(&self) -> Result<Arc<Tenant>, Stop> {
        let found = self.svc.directory.get(self.tenant).await;
        let tenant = found.map_err(failure::from_db)?;
        Ok(tenant.ok_or_else(|| Failure::permanent("the tenant was deleted", json!({})))?)
    }
}

/// The tenant's account at the provider `event` came from, if its connection lets it be used.
pub fn account<'t>(
    tenant: &'t Tenant,
    event: &webhook_event::Model,
) -> Result<&'t Account, Failure> {
    let Some(provider) = Provider::from_key(&event.provider) else {
        let message = format!(
            "the event came from a provider this server does not know ({})",
            event.provider
        );
        return Err(Failure::permanent(
            message,
            json!({ "provider": event.provider }),
        ));
    };
    let Some(account) = tenant.account(provider) else {
        let message = format!("the tenant has no {} account any more", provider.name());
        return Err(Failure::permanent(
            message,
            json!({ "service": provider.key() }),
        ));
    };
    usable(account)?;
    Ok(account)
}

/// `Err` when the account's connection state forbids calling the provider at all.
fn usable(account: &Account) -> Result<(), Failure> {
    match account.connection.blocks_processing() {
        None => Ok(()),
        Some(why) => Err(Failure::permanent(
            why,
            json!({ "service": account.provider.key(), "mp_connection": account.connection.as_str() }),
        )),
    }
}

/// Whether a failed fetch is worth one refresh and one more try.
pub fn worth_refreshing(account: &Account, failure: &Failure) -> bool {
    failure.credentials_refused && account.connection == MpConnection::Connected
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
