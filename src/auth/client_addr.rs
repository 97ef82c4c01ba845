//! The client's address behind reverse proxies. Only when the connection's peer is one of
//! `TRUSTED_PROXIES` are `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` read: walking from the
//! right (the hop nearest this server), trusted proxies are skipped and the first address that is not one
//! is the client. A header from any other peer is ignored (it could be forged), and without the setting
//! the peer is the client, as before. The login throttle, the rate limits and audit records use it.

use std::net::{IpAddr, SocketAddr};

use actix_web::{HttpRequest, http::header};
use ipnet::IpNet;

/// The client address of `req` given the trusted proxies.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let forwarded = forwarded_for(req).or_else(|| x_forwarded_for(req))?;
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        match hop {
            Some(address) if is_trusted(*address, trusted) => client = *address,
            Some(address) => return Some(*address),
            // `unknown` or an obfuscated name: the chain cannot be followed past it.
            None => return Some(client),
        }
    }
    Some(client)
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    trusted.iter().any(|network| network.contains(&address))
}

/// The `for=` of every `Forwarded` element, in order (`None` for a value that is not an address).
fn forwarded_for(req: &HttpRequest) -> Option<Vec<Option<IpAddr>>> {
    let values: Vec<&str> = req
        .headers()
        .get_all(header::FORWARDED)
        .filter_map(|value| value.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .flat_map(|value| value.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| address(value.trim().trim_matches('"')))
                })
            })
            .collect(),
    )
}

/// The addresses of every `X-Forwarded-For` line, in order.
fn x_forwarded_for(req: &HttpRequest) -> Option<Vec<Option<IpAddr>>> {
    let hops: Vec<Option<IpAddr>> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|hop| address(hop.trim()))
        .collect();
    (!hops.is_empty()).then_some(hops)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        req.to_http_request()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn headers_count_only_from_trusted_peers() {
        let proxies = nets(&["10.0.0.0/8"]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        let spoofed = request("203.0.113.9:5000", &[("X-Forwarded-For", "198.51.100.1")]);
        assert_eq!(client_ip(&spoofed, &proxies), ip("203.0.113.9"));
        // Without the setting, nothing changes.
        let plain = request("10.0.0.2:5000", &[("X-Forwarded-For", "198.51.100.1")]);
        assert_eq!(client_ip(&plain, &[]), ip("10.0.0.2"));
        // The right-most untrusted address: a forged left entry is not believed.
        let chain = request(
            "10.0.0.2:5000",
            &[("X-Forwarded-For", "1.2.3.4, 198.51.100.1, 10.0.0.7")],
        );
        assert_eq!(client_ip(&chain, &proxies), ip("198.51.100.1"));
        // Forwarded wins over X-Forwarded-For; ports and IPv6 brackets are read.
        let both = request(
            "10.0.0.2:5000",
            &[
                (
                    "Forwarded",
                    "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.9",
                ),
                ("X-Forwarded-For", "198.51.100.1"),
            ],
        );
        assert_eq!(client_ip(&both, &proxies), ip("2001:db8:cafe::17"));
        // An unknown hop stops the walk at the last trusted address.
        let unknown = request("10.0.0.2:5000", &[("Forwarded", "for=unknown")]);
        assert_eq!(client_ip(&unknown, &proxies), ip("10.0.0.2"));
        // Several header lines are one list.
        let lines = request(
            "10.0.0.2:5000",
            &[
                ("X-Forwarded-For", "198.51.100.1"),
                ("X-Forwarded-For", "10.0.0.3"),
            ],
        );
        assert_eq!(client_ip(&lines, &proxies), ip("198.51.100.1"));
    }
}
