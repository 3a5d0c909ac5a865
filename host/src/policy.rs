//! Which servers the component may connect to.
//!
//! The component never opens a socket itself: it asks the host's transport for
//! a connection by host name and port, and the host checks the request against
//! a [`Policy`] first. A request the policy does not allow fails with the
//! transport error `denied` before any name is resolved or any packet is sent.
//!
//! ```
//! use cfimap_host::Policy;
//!
//! // What the `cfimap` CLI uses: only the server the caller named.
//! let policy = Policy::only("imap.example.com", 993);
//! assert!(policy.allows("IMAP.example.com.", 993));
//! assert!(!policy.allows("imap.example.com", 143));
//! assert!(!policy.allows("evil.example.net", 993));
//! ```

use std::fmt;

/// The set of `host:port` endpoints the component may reach.
///
/// Host names are compared without regard to ASCII case and a trailing dot;
/// IP addresses must be written the same way the component asks for them. The
/// check is on the name the component asks for, before resolution: a policy
/// for `imap.example.com` lets the component reach whatever that name resolves
/// to, and nothing else.
///
/// The default policy allows nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Policy {
    rule: Rule,
}

#[derive(Clone, Default, PartialEq, Eq)]
enum Rule {
    #[default]
    Nothing,
    Endpoints(Vec<(String, u16)>),
    Anything,
}

impl Policy {
    /// A policy that allows no connection at all.
    pub fn deny_all() -> Self {
        Self {
            rule: Rule::Nothing,
        }
    }

    /// A policy that allows exactly one endpoint: `host` on `port`.
    pub fn only(host: &str, port: u16) -> Self {
        Self::deny_all().allow(host, port)
    }

    /// A policy that allows any host and port. Use it only when whoever picks
    /// the server is trusted as much as the process running the component.
    pub fn allow_any() -> Self {
        Self {
            rule: Rule::Anything,
        }
    }

    /// Adds `host` on `port` to the allowed endpoints.
    #[must_use]
    pub fn allow(self, host: &str, port: u16) -> Self {
        let entry = (normalize(host), port);
        let rule = match self.rule {
            Rule::Anything => Rule::Anything,
            Rule::Nothing => Rule::Endpoints(vec![entry]),
            Rule::Endpoints(mut list) => {
                if !list.contains(&entry) {
                    list.push(entry);
                }
                Rule::Endpoints(list)
            }
        };
        Self { rule }
    }

    /// Whether the component may connect to `host` on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        match &self.rule {
            Rule::Nothing => false,
            Rule::Anything => true,
            Rule::Endpoints(list) => {
                let host = normalize(host);
                list.iter().any(|(h, p)| *h == host && *p == port)
            }
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::Nothing => f.write_str("Policy(deny all)"),
            Rule::Anything => f.write_str("Policy(allow any)"),
            Rule::Endpoints(list) => f
                .debug_list()
                .entries(list.iter().map(|(h, p)| format!("{h}:{p}")))
                .finish(),
        }
    }
}

/// Lower-cases ASCII and drops one trailing dot (`Example.COM.` = `example.com`);
/// square brackets around an IPv6 literal are dropped too.
pub(crate) fn normalize(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_denies_everything() {
        assert!(!Policy::default().allows("localhost", 143));
    }

    #[test]
    fn only_matches_host_and_port() {
        let p = Policy::only("Mail.Example.org", 143);
        assert!(p.allows("mail.example.org", 143));
        assert!(p.allows("mail.example.org.", 143));
        assert!(!p.allows("mail.example.org", 993));
        assert!(!p.allows("example.org", 143));
    }

    #[test]
    fn ipv6_brackets() {
        let p = Policy::only("[::1]", 143);
        assert!(p.allows("::1", 143));
    }

    #[test]
    fn allow_any() {
        assert!(Policy::allow_any().allows("x", 1));
    }
}
