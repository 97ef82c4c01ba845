//! Where webhooks may be sent (OWASP API7, server-side request forgery): `https` URLs whose host resolves
//! only to public addresses. Hosts in `WEBHOOK_ALLOWED_HOSTS` (tests, internal receivers) may use `http`
//! and any address. The check runs when a subscription is saved and again at every connection, inside the
//! HTTP client's resolver ([`GuardedResolver`]): a name that later resolves to a private address (DNS
//! rebinding) is refused at delivery time, and the connection goes only to the addresses checked.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use reqwest::Url;

/// How long a host's name may take to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Hosts exempt from the `https` and public-address rules.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    pub fn new(hosts: &[String]) -> Self {
        Self(Arc::new(
            hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        ))
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(host))
    }
}

/// Why a URL or address is refused: `(code, English, Vietnamese)`.
pub type Refusal = (&'static str, String, String);

/// True for addresses a webhook must not reach: loopback, private, link-local, multicast, unspecified,
/// broadcast, shared (CGNAT), documentation and benchmarking ranges, unique-local and site-local IPv6, and
/// IPv4 addresses embedded in IPv6.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || first == 0x0064 // NAT64 64:ff9b::/96 and friends
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64.0.0/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn invalid_url() -> Refusal {
    (
        "invalid_url",
        "must be an absolute URL such as https://example.org/hooks, without blanks".to_owned(),
        "phải là địa chỉ đầy đủ, ví dụ https://example.org/hooks, không có khoảng trắng".to_owned(),
    )
}

fn https_required() -> Refusal {
    (
        "https_required",
        "must start with https:// (http:// only for hosts in WEBHOOK_ALLOWED_HOSTS)".to_owned(),
        "phải bắt đầu bằng https:// (http:// chỉ cho máy chủ trong WEBHOOK_ALLOWED_HOSTS)"
            .to_owned(),
    )
}

/// The shape [`crate::contract::WEBHOOK_URL_PATTERN`] states: `http://` or `https://`, then a non-empty
/// authority without `@` (user info would be stored and logged in clear), and no spaces.
fn check_shape(raw: &str) -> Result<(), Refusal> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .ok_or_else(https_required)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err((
            "credentials_in_url",
            "must not carry a user name or password (they would be stored and logged in clear)"
                .to_owned(),
            "không được chứa tên đăng nhập hay mật khẩu".to_owned(),
        ));
    }
    if authority.is_empty() || authority.contains(' ') || tail.contains(' ') {
        return Err(invalid_url());
    }
    Ok(())
}

/// Parses and checks a subscription URL (without resolving it).
pub fn parse_url(raw: &str, allowed: &AllowedHosts) -> Result<Url, Refusal> {
    check_shape(raw)?;
    // The URL standard would drop tabs and newlines silently; refuse them and every other blank and
    // control character instead.
    let url = Some(raw)
        .filter(|raw| !raw.chars().any(|c| c.is_whitespace() || c.is_control()))
        .and_then(|raw| Url::parse(raw).ok())
        .ok_or_else(invalid_url)?;
    let host = url.host_str().unwrap_or_default().to_owned();
    if host.is_empty() {
        return Err(invalid_url());
    }
    let exempt = allowed.allows(&host);
    if url.scheme() != "https" && !exempt {
        return Err(https_required());
    }
    if let Some(ip) = literal_ip(&url)
        && !exempt
        && is_forbidden(ip)
    {
        return Err(private_refusal(&host, ip));
    }
    Ok(url)
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

fn private_refusal(host: &str, ip: IpAddr) -> Refusal {
    (
        "private_address",
        format!(
            "{host} is {ip}, a private, loopback, link-local or otherwise non-public address; add the host \
             to WEBHOOK_ALLOWED_HOSTS for an internal receiver"
        ),
        format!("{host} là {ip}, không phải địa chỉ công khai"),
    )
}

/// Resolves `host` and refuses it when any of its addresses is forbidden (unless the host is allowed).
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allowed: &AllowedHosts,
) -> Result<Vec<SocketAddr>, Refusal> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| {
                (
                    "unresolvable_host",
                    format!(
                        "{bare} did not resolve within {} s",
                        RESOLVE_TIMEOUT.as_secs()
                    ),
                    format!("không phân giải được {bare}"),
                )
            })?
            .map_err(|_| {
                (
                    "unresolvable_host",
                    format!("{bare} does not resolve"),
                    format!("không phân giải được {bare}"),
                )
            })?
            .collect(),
    };
    if addresses.is_empty() {
        return Err((
            "unresolvable_host",
            format!("{bare} has no address"),
            format!("{bare} không có địa chỉ"),
        ));
    }
    if !allowed.allows(bare)
        && let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip()))
    {
        return Err(private_refusal(bare, bad.ip()));
    }
    Ok(addresses)
}

/// The delivery client's resolver: the same check at every connection.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allowed: AllowedHosts,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolve_checked(&host, 0, &allowed).await.map_err(
                |(_, english, _)| -> Box<dyn std::error::Error + Send + Sync> { english.into() },
            )?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_pattern_accepts_exactly_the_shapes_checked() {
        let pattern = regex::Regex::new(crate::contract::WEBHOOK_URL_PATTERN)
            .unwrap_or_else(|_| unreachable!());
        let alphabet = ['a', '.', '/', '?', '#', '@', ' ', ':', '1'];
        let mut bodies = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = bodies
                .iter()
                .flat_map(|b| alphabet.iter().map(move |c| format!("{b}{c}")))
                .collect();
            bodies.extend(longer);
            bodies.dedup();
        }
        for prefix in ["https://", "http://", "HTTPS://", "ftp://", "", "https:/"] {
            for body in &bodies {
                let case = format!("{prefix}{body}");
                assert_eq!(
                    pattern.is_match(&case),
                    check_shape(&case).is_ok(),
                    "{case:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_could_reach_inside() {
        let none = AllowedHosts::default();
        for bad in [
            "http://example.org/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:192.168.1.1]/hook",
            "https://user:pw@example.org/hook",
            "ftp://example.org/hook",
            "not a url",
        ] {
            assert!(parse_url(bad, &none).is_err(), "{bad}");
        }
        assert!(parse_url("https://example.org/hook", &none).is_ok());
        let local = AllowedHosts::new(&["127.0.0.1".to_owned()]);
        assert!(parse_url("http://127.0.0.1:9000/hook", &local).is_ok());
        assert!(is_forbidden(
            "100.64.1.1"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
        ));
        assert!(!is_forbidden(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8))));
    }
}
