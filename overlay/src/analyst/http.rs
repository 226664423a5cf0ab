//! Which HTTP analyser requests a node answers, and on what grounds. Three rules, each
//! against an attack on a dashboard that lives on a well-known port:
//! - The `Host` header must name this node (an allow-list): a page on another site whose
//!   name an attacker points at 127.0.0.1 (DNS rebinding) reaches the port, but its requests
//!   carry the attacker's name and are refused.
//! - Loopback connections are trusted only when the operator says so (`[http]
//!   trust_loopback`): behind a reverse proxy or a port forward every request comes from
//!   127.0.0.1, so trusting loopback there would trust everyone.
//! - Otherwise a token, in the `Authorization` header only: a token in a URL ends up in
//!   proxy logs, browser history and `Referer` headers.

use super::AnalystToken;
use super::revoked::Revoked;
use crate::dbqs::access::Gate;

/// Host names a node always answers to.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The operator's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Answer loopback connections without a token.
    pub trust_loopback: bool,
    /// Names (without port) the `Host` header may carry, beside the loopback ones.
    pub hosts: Vec<String>,
}

/// What a request shows before anything in it is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// It came over a loopback connection.
    pub loopback: bool,
    /// Its `Host` header, if it had one that is text.
    pub host: Option<String>,
    /// Its `Authorization: Bearer` value.
    pub bearer: Option<String>,
    /// Its query string names a `token`.
    pub token_in_query: bool,
}

/// On what grounds a request may be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grounds {
    /// A loopback connection, trusted by the operator.
    Loopback,
    /// A token, still to be checked against the configuration and the revoked ones.
    Token(Box<AnalystToken>),
}

impl Policy {
    /// Whether `host` (a `Host` header, perhaps with a port) names this node.
    pub fn host_allowed(&self, host: Option<&str>) -> Result<(), String> {
        let Some(host) = host else {
            return Err("the request has no Host header".into());
        };
        let name = name_of(host).to_ascii_lowercase();
        let known = LOOPBACK_NAMES.iter().any(|n| *n == name)
            || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&name));
        match known {
            true => Ok(()),
            false => Err(format!(
                "Host {host:?} is not a name of this node; the operator lists its names in `[http] hosts`"
            )),
        }
    }

    /// The grounds to answer `asked` on, or why it is refused.
    pub fn grounds(&self, asked: &Asked) -> Result<Grounds, String> {
        self.host_allowed(asked.host.as_deref())?;
        if asked.token_in_query {
            return Err("tokens go in the `Authorization: Bearer` header, never in the URL".into());
        }
        match &asked.bearer {
            Some(t) => AnalystToken::from_hex(t).map(|t| Grounds::Token(Box::new(t))),
            None if asked.loopback && self.trust_loopback => Ok(Grounds::Loopback),
            None if asked.loopback => Err(
                "this node does not trust loopback connections (`[http] trust_loopback = false`); send a token: `rampart analyze --token --peer <node> --credential <an analyze credential>`".into(),
            ),
            None => Err(
                "from another host, the analyser needs a token: `rampart analyze --token --peer <node> --credential <an analyze credential>`".into(),
            ),
        }
    }
}

impl Grounds {
    /// Whether a request on these grounds is answered at `gate`, with the tokens `revoked`
    /// here; the token it carries, if any.
    pub fn admit(
        &self,
        gate: &Gate<'_>,
        revoked: &Revoked,
    ) -> Result<Option<&AnalystToken>, String> {
        match self {
            Grounds::Loopback => Ok(None),
            Grounds::Token(t) if revoked.contains(&t.id()) => {
                Err("the token was revoked (POST /logout); sign a new one".into())
            }
            Grounds::Token(t) => t
                .check(gate)
                .map(|()| Some(&**t))
                .map_err(|r| r.to_string()),
        }
    }
}

/// `host` without its port: `[::1]:80` is `::1`, `a.example:80` is `a.example`.
fn name_of(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trust_loopback: bool) -> Policy {
        Policy {
            trust_loopback,
            hosts: vec!["Node7.Example".into(), "192.0.2.2".into()],
        }
    }

    fn asked(loopback: bool, host: &str) -> Asked {
        Asked {
            loopback,
            host: Some(host.into()),
            ..Asked::default()
        }
    }

    #[test]
    fn only_names_of_this_node_pass_whatever_the_port_or_case() {
        let p = policy(true);
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:9",
            "node7.example:80",
            "192.0.2.2:7",
        ] {
            assert_eq!(p.host_allowed(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:80",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "[::2]:80",
            "",
        ] {
            assert!(p.host_allowed(Some(bad)).is_err(), "{bad}");
        }
        assert!(p.host_allowed(None).is_err());
    }

    #[test]
    fn loopback_is_trusted_only_when_configured() {
        assert_eq!(
            policy(true).grounds(&asked(true, "localhost")),
            Ok(Grounds::Loopback)
        );
        let refused = policy(false)
            .grounds(&asked(true, "localhost"))
            .unwrap_err();
        assert!(refused.contains("trust_loopback"), "{refused}");
        let remote = policy(true)
            .grounds(&asked(false, "192.0.2.2"))
            .unwrap_err();
        assert!(remote.contains("needs a token"), "{remote}");
    }

    #[test]
    fn a_rebound_name_is_refused_even_from_loopback() {
        let refused = policy(true)
            .grounds(&asked(true, "attacker.example"))
            .unwrap_err();
        assert!(refused.contains("not a name of this node"), "{refused}");
    }

    #[test]
    fn a_token_in_the_url_is_refused_even_where_none_is_needed() {
        let mut a = asked(true, "localhost");
        a.token_in_query = true;
        let refused = policy(true).grounds(&a).unwrap_err();
        assert!(refused.contains("header"), "{refused}");
    }

    #[test]
    fn a_bearer_value_must_decode_as_a_token() {
        let mut a = asked(false, "192.0.2.2");
        a.bearer = Some("00ff".into());
        assert!(
            policy(true)
                .grounds(&a)
                .unwrap_err()
                .contains("not a token")
        );
        a.bearer = Some("0".repeat(super::super::TOKEN_HEX_MAX + 1));
        assert!(policy(true).grounds(&a).is_err());
    }
}
