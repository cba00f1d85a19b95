//! Step 6 of an attempt: the tenant's GoHighLevel settings, and tagging an approved payment's
//! buyer (find or create the contact, add the tag) under the tenant's GHL rate limiter. Called
//! by `pipeline`; the HTTP calls are `ghl`'s.

use tracing::warn;

use super::failure::Failure;
use super::limits::Limiters;
use crate::ghl::{Buyer, GhlSettings};
use crate::mercadopago::MpPayment;
use crate::services::Services;

pub(super) fn ghl_settings(tenant: &entity::tenant::Model) -> Option<GhlSettings> {
    Some(GhlSettings {
        api_key: tenant.ghl_api_key.clone()?,
        location_id: tenant.ghl_location_id.clone()?,
        tag: tenant.ghl_tag.clone()?,
    })
}

/// Step 6: find or create the contact and add the tag; answers the tagged contact's id (`None`:
/// no payer email, nothing to tag).
pub(super) async fn tag_buyer(
    svc: &Services,
    limits: &Limiters,
    settings: &GhlSettings,
    mp: &MpPayment,
) -> Result<Option<String>, Failure> {
    let Some(email) = mp.payer_email.as_deref() else {
        warn!("approved payment has no payer email; GoHighLevel tagging skipped");
        return Ok(None);
    };
    limits.ghl.until_ready().await;
    let found = svc
        .ghl
        .find_contact(settings, email)
        .await
        .map_err(|e| Failure::from_ghl(e, svc.config.ghl_429_backoff))?;
    let contact_id = match found {
        Some(id) => id,
        None => {
            let text = |path: &str| mp.raw.pointer(path).and_then(|v| v.as_str());
            let buyer = Buyer {
                email,
                first_name: text("/payer/first_name").or(text("/additional_info/payer/first_name")),
                last_name: text("/payer/last_name").or(text("/additional_info/payer/last_name")),
            };
            limits.ghl.until_ready().await;
            svc.ghl
                .create_contact(settings, &buyer)
                .await
                .map_err(|e| Failure::from_ghl(e, svc.config.ghl_429_backoff))?
        }
    };
    limits.ghl.until_ready().await;
    svc.ghl
        .add_tag(settings, &contact_id)
        .await
        .map_err(|e| Failure::from_ghl(e, svc.config.ghl_429_backoff))?;
    Ok(Some(contact_id))
}
