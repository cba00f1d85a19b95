//! Which payment provider something belongs to: a plain name the whole core can hold (a tenant's
//! accounts, an event, the delivery log). What a provider *does* (reading its webhooks, calling its
//! API) is `crate::provider`'s, in inherent methods on this same type.

/// A payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    MercadoPago,
    Stripe,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::MercadoPago, Provider::Stripe];

    /// The provider's name as a person reads it in messages.
    pub fn name(self) -> &'static str {
        match self {
            Provider::MercadoPago => "MercadoPago",
            Provider::Stripe => "Stripe",
        }
    }

    /// The provider's name in data: `tenant_accounts.provider`, the delivery log's `provider`,
    /// the API's `provider` fields.
    pub fn key(self) -> &'static str {
        match self {
            Provider::MercadoPago => "mercadopago",
            Provider::Stripe => "stripe",
        }
    }

    /// The provider a stored [`Self::key`] names; `None` for a word no provider has.
    pub fn from_key(key: &str) -> Option<Provider> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The path its webhooks are posted to (a wire name users configure at the provider).
    pub fn webhook_path(self) -> &'static str {
        match self {
            Provider::MercadoPago => "/webhooks/mp",
            Provider::Stripe => "/webhooks/stripe",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Provider;

    #[test]
    fn every_key_reads_back_to_its_provider() {
        for provider in Provider::ALL {
            assert_eq!(Provider::from_key(provider.key()), Some(provider));
        }
        assert_eq!(Provider::from_key("paypal"), None);
    }
}
