//! How a tenant's payment-provider token came, and whether it still works (SPEC §14's
//! `mp_connection`): what the pipeline checks before it calls the provider, and what the
//! dashboard shows.

/// How every `last_error` that only reconnecting can clear ends; reconnecting requeues the events
/// that failed with it.
pub const RECONNECT: &str = "reconnect the seller's MercadoPago account";

/// `manual`: a token typed into the API, used as it is. `connected`: granted through OAuth and
/// refreshed by Cobro. `disconnected`: never connected yet, or the seller revoked the
/// application. `refresh_failed`: the provider refused to refresh; a person must reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpConnection {
    Manual,
    Connected,
    Disconnected,
    RefreshFailed,
}

impl MpConnection {
    pub const ALL: [MpConnection; 4] = [
        MpConnection::Manual,
        MpConnection::Connected,
        MpConnection::Disconnected,
        MpConnection::RefreshFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MpConnection::Manual => "manual",
            MpConnection::Connected => "connected",
            MpConnection::Disconnected => "disconnected",
            MpConnection::RefreshFailed => "refresh_failed",
        }
    }

    /// An unknown word reads as `manual`: the token is then used as it is, as before OAuth.
    pub fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .unwrap_or(MpConnection::Manual)
    }

    /// Why events cannot be processed in this state, in words a person can act on; `None` when
    /// the token may be used.
    pub fn blocks_processing(self) -> Option<&'static str> {
        match self {
            MpConnection::Manual | MpConnection::Connected => None,
            MpConnection::Disconnected => Some(
                "the seller's MercadoPago account is not connected (never connected, or the seller disconnected the application): reconnect the seller's MercadoPago account",
            ),
            MpConnection::RefreshFailed => Some(
                "MercadoPago refused to refresh the seller's token: reconnect the seller's MercadoPago account",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_only_broken_ones_block() {
        for state in MpConnection::ALL {
            assert_eq!(MpConnection::parse(state.as_str()), state);
        }
        assert!(MpConnection::Manual.blocks_processing().is_none());
        assert!(MpConnection::Connected.blocks_processing().is_none());
        for broken in [MpConnection::Disconnected, MpConnection::RefreshFailed] {
            let why = broken.blocks_processing().expect("blocks");
            assert!(
                why.contains("reconnect the seller's MercadoPago account"),
                "{why}"
            );
        }
    }
}
