//! This computer's addresses on its networks: every IPv4 address of an interface that is up,
//! except loopback and link-local ones (a student's phone reaches none of those). The student
//! page's URL is offered on each.

use std::net::Ipv4Addr;

/// Whether a phone on the same network could reach this address.
fn reachable(address: Ipv4Addr) -> bool {
    !(address.is_loopback() || address.is_link_local() || address.is_unspecified())
}

/// The addresses, private (home and school networks) first, each once.
pub fn addresses() -> Vec<Ipv4Addr> {
    let mut found: Vec<Ipv4Addr> = interface_addresses()
        .into_iter()
        .filter(|a| reachable(*a))
        .collect();
    found.sort_by_key(|a| (!a.is_private(), *a));
    found.dedup();
    found
}

#[cfg(unix)]
fn interface_addresses() -> Vec<Ipv4Addr> {
    use nix::net::if_::InterfaceFlags;
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else {
        return fallback().into_iter().collect();
    };
    interfaces
        .filter(|i| i.flags.contains(InterfaceFlags::IFF_UP))
        .filter_map(|i| i.address)
        .filter_map(|a| a.as_sockaddr_in().map(|v4| v4.ip()))
        .collect()
}

#[cfg(not(unix))]
fn interface_addresses() -> Vec<Ipv4Addr> {
    fallback().into_iter().collect()
}

/// The address this computer would use to reach the internet: a UDP socket "connected" to a
/// public address chooses it (no packet is sent).
fn fallback() -> Option<Ipv4Addr> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(v4) => Some(v4),
        std::net::IpAddr::V6(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_link_local_are_left_out() {
        assert!(!reachable(Ipv4Addr::LOCALHOST));
        assert!(!reachable(Ipv4Addr::new(169, 254, 3, 4)));
        assert!(reachable(Ipv4Addr::new(192, 168, 1, 20)));
        assert!(addresses().iter().all(|a| reachable(*a)));
    }
}
