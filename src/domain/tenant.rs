//! A seller as the processing core sees it: its name, its GoHighLevel settings and the provider
//! accounts it takes payments with (SPEC §19), secrets already opened. `store::directory` builds
//! these from `tenants` and `tenant_accounts`; ingest finds a tenant by the account a
//! notification names, and an attempt calls the provider with that account's token.

use chrono::{DateTime, Utc};

use super::{MpConnection, Provider, TenantId};

/// A tenant's GoHighLevel settings, complete (a tenant without all three does not tag).
#[derive(Clone, PartialEq, Eq)]
pub struct GhlSettings {
    pub api_key: String,
    pub location_id: String,
    pub tag: String,
}

impl std::fmt::Debug for GhlSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhlSettings")
            .field("location_id", &self.location_id)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Accept notifications without a signature when no secret applies (MP does not sign QR).
    pub allow_unsigned: bool,
    pub ghl: Option<GhlSettings>,
    /// At most one per provider.
    pub accounts: Vec<Account>,
}

impl Tenant {
    /// The tenant's account at `provider`, if it has one.
    pub fn account(&self, provider: Provider) -> Option<&Account> {
        self.accounts.iter().find(|a| a.provider == provider)
    }
}

/// A seller's account at one provider, its secrets opened. `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub provider: Provider,
    /// The seller's id at the provider; `None` until linked (no webhook reaches it until then).
    pub account_id: Option<String>,
    /// `""`: no token yet.
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub webhook_secret: Option<String>,
    pub connection: MpConnection,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("provider", &self.provider)
            .field("account_id", &self.account_id)
            .field("connection", &self.connection)
            .field("token_expires_at", &self.token_expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_holds_a_secret() {
        let account = Account {
            provider: Provider::MercadoPago,
            account_id: Some("123".into()),
            access_token: "APP_USR-secret-token".into(),
            refresh_token: Some("TG-secret-refresh".into()),
            webhook_secret: Some("whsec-secret".into()),
            connection: MpConnection::Connected,
            token_expires_at: None,
            last_error: None,
            connected_at: None,
        };
        let tenant = Tenant {
            id: TenantId(uuid::Uuid::nil()),
            name: "Loja".into(),
            allow_unsigned: false,
            ghl: Some(GhlSettings {
                api_key: "ghl-secret-key".into(),
                location_id: "loc".into(),
                tag: "paid".into(),
            }),
            accounts: vec![account],
        };
        let shown = format!("{tenant:?}");
        for secret in [
            "secret-token",
            "secret-refresh",
            "whsec-secret",
            "ghl-secret-key",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("123") && shown.contains("loc"));
        assert_eq!(
            tenant
                .account(Provider::MercadoPago)
                .map(|a| a.access_token.as_str()),
            Some("APP_USR-secret-token")
        );
    }
}
