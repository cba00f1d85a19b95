//! Step 2 for a notification that is not about one payment (SPEC §17): fetch what it names,
//! never trusting its body: an order of the Orders API with its payments; a chargeback, then each
//! of its payments; a fraud alert's payment; a claim, then its payment. Each payment is checked
//! to be the tenant's, as for a payment notification. Answers the payment changes and the order
//! move that `resource` writes in one go.

use std::future::Future;

use entity::webhook_event;
use serde_json::json;

use super::credentials;
use super::payment::check_seller;
use super::{Steps, Stop};
use crate::domain::{Account, Failure, OrderStatus, PaymentSnapshot, ResourceKind};
use crate::provider::Seller;
use crate::store::resources::{OrderChange, PaymentChange};

/// What a notification names, as fetched: its payments' changes and the order move.
pub type Named = (Vec<PaymentChange>, Option<OrderChange>);

impl Steps<'_> {
    /// Fetches what `event` names, with the seller's token (refreshed once when refused, as for
    /// payments).
    pub async fn fetch_named(
        &self,
        account: &Account,
        event: &webhook_event::Model,
        kind: ResourceKind,
    ) -> Result<Named, Stop> {
        let resource = event.resource_id.as_deref().unwrap_or_default();
        match kind {
            ResourceKind::Order => self.order(account, resource).await,
            ResourceKind::Chargeback => self.chargeback(account, event, resource).await,
            ResourceKind::FraudAlert => {
                let payment = event.mp_payment_id.clone();
                let mut change = self.checked_payment(account, payment).await?;
                change.fraud_alert = true;
                Ok(alone(change, true))
            }
            ResourceKind::Claim => self.claim(account, resource).await,
            ResourceKind::Payment | ResourceKind::Connection => {
                let message = format!("a {} event has no resource step", kind.as_str());
                Err(Failure::permanent(message, json!({})).into())
            }
        }
    }

    /// An order of the Orders API: its payments as it lists them, its status as the order move.
    async fn order(&self, account: &Account, id: &str) -> Result<Named, Stop> {
        let (providers, provider) = (&self.svc.providers, account.provider);
        let order = self
            .with_token(account, |token| async move {
                providers
                    .fetch_order(provider, seller(account, &token), id)
                    .await
            })
            .await?;
        if let Some(owner) = &order.seller_account_id {
            check_owner(owner, account, &format!("order {}", order.id))?;
        }
        let changes = order
            .payments
            .into_iter()
            .filter_map(|snapshot| Some(change(snapshot.id.clone()?, snapshot)))
            .collect();
        let move_to = order.external_reference.map(|reference| OrderChange {
            reference,
            target: order.target,
            fraud: false,
        });
        Ok((changes, move_to))
    }

    /// A chargeback, then each payment it names (the notification's own when it names none).
    async fn chargeback(
        &self,
        account: &Account,
        event: &webhook_event::Model,
        id: &str,
    ) -> Result<Named, Stop> {
        let (providers, provider) = (&self.svc.providers, account.provider);
        let dispute = self
            .with_token(account, |token| async move {
                providers
                    .fetch_dispute(provider, seller(account, &token), id)
                    .await
            })
            .await?;
        let mut ids = dispute.payment_ids.clone();
        if ids.is_empty() && !event.mp_payment_id.is_empty() {
            ids.push(event.mp_payment_id.clone());
        }
        let mut changes = Vec::with_capacity(ids.len());
        for id in ids {
            let mut change = self.checked_payment(account, id).await?;
            change.dispute = Some(dispute.summary.clone());
            changes.push(change);
        }
        let order = follow_payment(&changes, false);
        Ok((changes, order))
    }

    /// A buyer's claim, then the payment it is about.
    async fn claim(&self, account: &Account, id: &str) -> Result<Named, Stop> {
        let (providers, provider) = (&self.svc.providers, account.provider);
        let claim = self
            .with_token(account, |token| async move {
                providers
                    .fetch_claim(provider, seller(account, &token), id)
                    .await
            })
            .await?;
        let Some(payment) = claim.payment_id.clone() else {
            let message = format!("claim {} is not on a payment; nothing to update", claim.id);
            return Err(Failure::permanent(message, json!({ "service": "mercadopago" })).into());
        };
        let mut change = self.checked_payment(account, payment).await?;
        change.claim = Some(claim.summary.clone());
        Ok(alone(change, false))
    }

    /// A payment fetched and checked to be the tenant's, as a change with nothing added yet.
    async fn checked_payment(&self, account: &Account, id: String) -> Result<PaymentChange, Stop> {
        let (providers, provider) = (&self.svc.providers, account.provider);
        let snapshot = self
            .with_token(account, |token| {
                let id = id.clone();
                async move {
                    providers
                        .fetch_payment(provider, seller(account, &token), &id)
                        .await
                }
            })
            .await?;
        check_seller(&snapshot, account)?;
        Ok(change(id, snapshot))
    }

    /// A provider call under the tenant's limiter and lease, with its token; a refused OAuth
    /// token is refreshed once and the call made again.
    async fn with_token<T, F, Fut>(&self, account: &Account, call: F) -> Result<T, Stop>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let limits = self.limits;
        let token = account.access_token.clone();
        let attempt = async {
            limits.provider(account.provider).until_ready().await;
            match call(token.clone()).await {
                Err(refused) if credentials::worth_refreshing(account, &refused) => {
                    let fresh =
                        credentials::refreshed(self.svc, self.tenant, &token, refused).await?;
                    limits.provider(account.provider).until_ready().await;
                    call(fresh).await
                }
                other => other,
            }
        };
        Ok(self.guarded(attempt).await??)
    }
}

/// The seller a call is for: the account's id there and `token`.
pub fn seller<'a>(account: &'a Account, token: &'a str) -> Seller<'a> {
    Seller {
        account_id: account.account_id.as_deref().unwrap_or_default(),
        token,
    }
}

/// One payment's change, and the order move it leads to.
fn alone(change: PaymentChange, fraud: bool) -> Named {
    let changes = vec![change];
    let order = follow_payment(&changes, fraud);
    (changes, order)
}

fn change(payment_id: String, snapshot: PaymentSnapshot) -> PaymentChange {
    PaymentChange {
        payment_id,
        snapshot,
        fraud_alert: false,
        dispute: None,
        claim: None,
    }
}

/// The Cobro order a payment names moves as the payment's status says (SPEC §7), or, for a
/// fraud alert, to `CANCELLED`.
fn follow_payment(changes: &[PaymentChange], fraud: bool) -> Option<OrderChange> {
    changes.iter().find_map(|change| {
        let reference = change.snapshot.external_reference.clone()?;
        let target = match fraud {
            true => OrderStatus::Cancelled,
            false => change.snapshot.order_target?,
        };
        Some(OrderChange {
            reference,
            target,
            fraud,
        })
    })
}

/// The body is not signed: what the provider answers must be the notified seller's.
fn check_owner(owner: &str, account: &Account, what: &str) -> Result<(), Failure> {
    let seller = account.account_id.as_deref().unwrap_or("none");
    match account.account_id.as_deref() == Some(owner) {
        true => Ok(()),
        false => Err(Failure::permanent(
            format!(
                "seller mismatch: {what} belongs to seller {owner}, not to this tenant ({seller})"
            ),
            json!({ "user_id": owner, "mp_user_id": seller }),
        )),
    }
}
