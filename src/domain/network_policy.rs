//! Which addresses CheckHosts and the SSH broker may connect to (`target_networks`).
//!
//! Decided on resolved addresses, never on the name an engineer typed: `localhost`,
//! `127.1`, `2130706433` and a DNS name pointing inward all resolve to addresses this
//! policy sees.

use std::net::IpAddr;

use ipnet::IpNet;

/// Networks as configured: CIDRs (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a
/// /32 or /128), comma-separated in flags, a list in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct NetworkList(pub Vec<IpNet>);

impl NetworkList {
    fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<NetworkList, String> {
        let nets = items
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{s}` is not a network such as 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nets.is_empty() {
            return Err("name at least one network".into());
        }
        Ok(NetworkList(nets))
    }
}

impl std::str::FromStr for NetworkList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NetworkList::parse(s.split(','))
    }
}

impl TryFrom<Vec<String>> for NetworkList {
    type Error = String;
    fn try_from(items: Vec<String>) -> Result<Self, String> {
        NetworkList::parse(items.iter().map(String::as_str))
    }
}

impl From<NetworkList> for Vec<String> {
    fn from(list: NetworkList) -> Self {
        list.0.iter().map(IpNet::to_string).collect()
    }
}

/// The networks connections may go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetNetworks {
    /// Everything except loopback, link-local, multicast, broadcast, unspecified and
    /// this host's own addresses.
    #[default]
    Default,
    /// Only these networks (an explicit list may name loopback, e.g. for tests).
    Only(Vec<IpNet>),
}

impl From<Option<NetworkList>> for TargetNetworks {
    fn from(list: Option<NetworkList>) -> Self {
        list.map_or(TargetNetworks::Default, |l| TargetNetworks::Only(l.0))
    }
}

impl TargetNetworks {
    /// An explicit list, as `NetworkList` parses it.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<TargetNetworks, String> {
        NetworkList::parse(items).map(|l| TargetNetworks::Only(l.0))
    }

    /// Whether a connection to `ip` is allowed; `is_own` tells this host's own
    /// addresses (the caller's I/O), asked only under the default policy.
    pub fn allows(&self, ip: IpAddr, is_own: impl FnOnce(IpAddr) -> bool) -> bool {
        let ip = ip.to_canonical();
        if ip.is_unspecified() || is_broadcast(ip) {
            return false;
        }
        match self {
            TargetNetworks::Only(nets) => nets.iter().any(|n| n.contains(&ip)),
            TargetNetworks::Default => {
                !(ip.is_loopback() || ip.is_multicast() || is_link_local(ip) || is_own(ip))
            }
        }
    }
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_refuses_inward_addresses() {
        let policy = TargetNetworks::Default;
        let not_own = |_| false;
        for refused in [
            "127.0.0.1",
            "127.255.0.1",
            "0.0.0.0",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!policy.allows(ip(refused), not_own), "{refused}");
        }
        for allowed in ["10.0.0.5", "192.168.1.10", "203.0.113.7", "2001:db8::1"] {
            assert!(policy.allows(ip(allowed), not_own), "{allowed}");
        }
        assert!(!policy.allows(ip("10.0.0.5"), |_| true), "own addresses");
    }

    #[test]
    fn an_explicit_list_allows_only_its_networks() {
        let policy =
            TargetNetworks::parse("127.0.0.0/8, 10.1.0.0/16,2001:db8::1".split(',')).unwrap();
        assert!(policy.allows(ip("127.0.0.1"), |_| true));
        assert!(policy.allows(ip("10.1.2.3"), |_| false));
        assert!(policy.allows(ip("2001:db8::1"), |_| false));
        assert!(!policy.allows(ip("10.2.0.1"), |_| false));
        assert!(
            !policy.allows(ip("0.0.0.0"), |_| false),
            "never unspecified"
        );
        assert!(TargetNetworks::parse(["10.0.0.0/33"]).is_err());
        assert!(TargetNetworks::parse(["example.com"]).is_err());
        assert!(TargetNetworks::parse([" "]).is_err());
    }
}
