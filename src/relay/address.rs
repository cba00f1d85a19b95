//! Where the relay may send (SPEC §21's safety rules): `https://` URLs whose host resolves to
//! public addresses only, unless private ones are allowed. Checked when an endpoint is saved
//! ([`check_url`]: the scheme, and a host written as an address) and at every connection
//! ([`PublicOnly`], the HTTP client's resolver): a name may resolve elsewhere tomorrow, and a
//! name pointing at 127.0.0.1 is refused however it is written.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("not a URL")]
    NotAUrl,
    #[error(
        "must be https:// (set COBRO_OUTBOUND_ALLOW_PRIVATE=true for http:// on private networks)"
    )]
    NotHttps,
    #[error("must have a host")]
    NoHost,
    #[error("{0} is not a public address (set COBRO_OUTBOUND_ALLOW_PRIVATE=true to allow it)")]
    Private(IpAddr),
}

/// Checks an endpoint's URL as written.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, AddressError> {
    let parsed = Url::parse(url).map_err(|_| AddressError::NotAUrl)?;
    match (parsed.scheme(), allow_private) {
        ("https", _) | ("http", true) => {}
        _ => return Err(AddressError::NotHttps),
    }
    let ip = match parsed.host().ok_or(AddressError::NoHost)? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    };
    match ip {
        Some(ip) if !allow_private && !is_public(ip) => Err(AddressError::Private(ip)),
        _ => Ok(parsed),
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// The HTTP client's resolver when private addresses are not allowed: answers only the public
/// addresses of a name, and an error when it has none.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            match (public.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as Addrs),
                (true, Some(first)) => Err(Box::new(AddressError::Private(first.ip())).into()),
                (true, None) => Err(format!("{host} does not resolve").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn private_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip(text)), "{text}");
        }
        for text in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn urls_must_be_https_and_public_unless_allowed() {
        assert_eq!(
            check_url("http://example.com/hook", false).err(),
            Some(AddressError::NotHttps)
        );
        assert!(matches!(
            check_url("https://127.0.0.1/hook", false),
            Err(AddressError::Private(_))
        ));
        assert!(matches!(
            check_url("https://[::1]:8443/hook", false),
            Err(AddressError::Private(_))
        ));
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert!(check_url("http://127.0.0.1:9/hook", true).is_ok());
        assert_eq!(
            check_url("ftp://example.com", true).err(),
            Some(AddressError::NotHttps)
        );
        assert_eq!(check_url("nope", true).err(), Some(AddressError::NotAUrl));
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let Ok(name) = "localhost".parse::<Name>() else {
            panic!("localhost is a name");
        };
        let answer = PublicOnly.resolve(name).await;
        assert!(answer.is_err(), "localhost resolved to a public address");
    }
}
