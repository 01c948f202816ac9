//! `target_networks` applied to real connections: names are resolved first and only
//! allowed addresses are connected to. CheckHosts and the SSH broker both go through
//! [`may_connect`] (or [`resolve_allowed`], which calls it for every address).

use std::net::{IpAddr, SocketAddr};

use crate::domain::network_policy::TargetNetworks;

/// Why no connection may be attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name does not resolve (or resolving failed).
    DoesNotResolve,
    /// It resolves, but only to addresses outside `target_networks`.
    NotAllowed(Vec<IpAddr>),
}

impl Refusal {
    /// The precise cause, for the audit note and the log only.
    pub fn cause(&self) -> String {
        match self {
            Refusal::DoesNotResolve => "does_not_resolve".into(),
            Refusal::NotAllowed(ips) => {
                let ips: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
                format!("target_not_allowed({})", ips.join(" "))
            }
        }
    }
}

/// Whether this service may connect to the resolved address `ip`.
pub fn may_connect(networks: &TargetNetworks, ip: IpAddr) -> bool {
    networks.allows(ip, is_own_address)
}

/// An address is this host's own if a socket can be bound to it.
fn is_own_address(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Resolves `host` and keeps the addresses `target_networks` allows. If any resolved
/// address is refused, all are: a name that points inward is refused as a whole.
pub async fn resolve_allowed(
    networks: &TargetNetworks,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, Refusal> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| Refusal::DoesNotResolve)?
        .collect();
    if resolved.is_empty() {
        return Err(Refusal::DoesNotResolve);
    }
    let refused: Vec<IpAddr> = resolved
        .iter()
        .map(SocketAddr::ip)
        .filter(|ip| !may_connect(networks, *ip))
        .collect();
    if refused.is_empty() {
        Ok(resolved)
    } else {
        Err(Refusal::NotAllowed(refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let default = TargetNetworks::Default;
        for inward in [
            "localhost",
            "127.1",
            "2130706433",
            "0.0.0.0",
            "169.254.169.254",
        ] {
            assert!(
                matches!(
                    resolve_allowed(&default, inward, 22).await,
                    Err(Refusal::NotAllowed(_))
                ),
                "{inward}"
            );
        }
        assert_eq!(
            resolve_allowed(&default, "10.9.8.7", 22).await,
            Ok(vec!["10.9.8.7:22".parse().unwrap()])
        );
        assert_eq!(
            resolve_allowed(&default, "no-such-host.invalid", 22).await,
            Err(Refusal::DoesNotResolve)
        );
        let loopback = TargetNetworks::parse(["127.0.0.0/8"]).unwrap();
        assert!(resolve_allowed(&loopback, "127.1", 22).await.is_ok());
    }

    #[test]
    fn this_hosts_own_addresses_are_refused_by_default() {
        let own = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        // Whatever address routes outward (if any) is one of ours.
        if own.connect("192.0.2.1:9").is_ok()
            && let Ok(local) = own.local_addr()
        {
            assert!(!may_connect(&TargetNetworks::Default, local.ip()));
        }
        assert!(!may_connect(
            &TargetNetworks::Default,
            "127.0.0.1".parse().unwrap()
        ));
    }
}
