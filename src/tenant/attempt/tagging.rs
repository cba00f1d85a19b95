//! Step 6 of an attempt: tagging an approved payment's
//! buyer (find or create the contact, add the tag) under the tenant's GHL rate limiter. Called
//! by the attempt's steps (`payment`, `resource`); the HTTP calls are `ghl`'s.

use tracing::warn;

use crate::domain::PaymentSnapshot;
use crate::ghl::{Buyer, GhlSettings};
use crate::tenant::failure::{Failure, from_ghl};
use crate::tenant::limits::Limiters;
use crate::tenant::processing::Processing;

/// Step 6: find or create the contact and add the tag; answers the tagged contact's id (`None`:
/// no payer email, nothing to tag).
pub(super) async fn tag_buyer(
    svc: &Processing,
    limits: &Limiters,
    settings: &GhlSettings,
    payment: &PaymentSnapshot,
) -> Result<Option<String>, Failure> {
    let Some(email) = payment.payer_email.as_deref() else {
        warn!("approved payment has no payer email; GoHighLevel tagging skipped");
        return Ok(None);
    };
    limits.ghl.until_ready().await;
    let found = svc
        .ghl
        .find_contact(settings, email)
        .await
        .map_err(|e| from_ghl(e, svc.settings.ghl_429_backoff))?;
    let contact_id = match found {
        Some(id) => id,
        None => {
            let buyer = Buyer {
                email,
                first_name: payment.payer_first_name.as_deref(),
                last_name: payment.payer_last_name.as_deref(),
            };
            limits.ghl.until_ready().await;
            svc.ghl
                .create_contact(settings, &buyer)
                .await
                .map_err(|e| from_ghl(e, svc.settings.ghl_429_backoff))?
        }
    };
    limits.ghl.until_ready().await;
    svc.ghl
        .add_tag(settings, &contact_id)
        .await
        .map_err(|e| from_ghl(e, svc.settings.ghl_429_backoff))?;
    Ok(Some(contact_id))
}

/// A fraud alert (SPEC §17): the tag added for this payment's buyer is taken back.
pub(super) async fn untag_buyer(
    svc: &Processing,
    limits: &Limiters,
    settings: &GhlSettings,
    contact_id: &str,
) -> Result<(), Failure> {
    limits.ghl.until_ready().await;
    svc.ghl
        .remove_tag(settings, contact_id)
        .await
        .map_err(|e| from_ghl(e, svc.settings.ghl_429_backoff))
}
