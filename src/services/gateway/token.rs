//! Where the gateway finds a token on the upgrade request.
//!
//! Two deliveries: `Authorization: Bearer <jwt>`, or the subprotocol pair
//! `Sec-WebSocket-Protocol: jwt-auth, jwt.<jwt>` (browsers cannot set
//! headers on a WebSocket, and some load balancers strip them). The header
//! is tried first; the subprotocol is the fallback.

use hyper::HeaderMap;

use crate::scenario::TokenVia;

/// The subprotocol the gateway echoes when the client offered it.
pub const SUBPROTOCOL: &str = "jwt-auth";

/// The tokens a request carries, in the order they should be tried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credentials {
    pub header: Option<String>,
    pub subprotocol: Option<String>,
    /// Whether the client offered `jwt-auth` (then it must be echoed, or the
    /// client's handshake fails).
    pub offered_jwt_auth: bool,
}

impl Credentials {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let header = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let protocols: Vec<String> = headers
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_string())
            .collect();
        let offered_jwt_auth = protocols.iter().any(|p| p == SUBPROTOCOL);
        let subprotocol = if offered_jwt_auth {
            protocols
                .iter()
                .find_map(|p| p.strip_prefix("jwt.").map(str::to_string))
                .filter(|t| !t.is_empty())
        } else {
            None
        };
        Self {
            header,
            subprotocol,
            offered_jwt_auth,
        }
    }

    /// Candidates in order: the header wins when both are present and valid.
    pub fn candidates(&self) -> Vec<(TokenVia, &str)> {
        let mut out = Vec::new();
        if let Some(t) = &self.header {
            out.push((TokenVia::Header, t.as_str()));
        }
        if let Some(t) = &self.subprotocol {
            out.push((TokenVia::Subprotocol, t.as_str()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn header_then_subprotocol() {
        let c = Credentials::from_headers(&headers(&[
            ("authorization", "Bearer aaa"),
            ("sec-websocket-protocol", "jwt-auth, jwt.bbb"),
        ]));
        assert_eq!(
            c.candidates(),
            vec![(TokenVia::Header, "aaa"), (TokenVia::Subprotocol, "bbb")]
        );
        assert!(c.offered_jwt_auth);
    }

    #[test]
    fn neither() {
        let c = Credentials::from_headers(&headers(&[("authorization", "Basic x")]));
        assert!(c.candidates().is_empty());
        assert!(!c.offered_jwt_auth);
    }

    #[test]
    fn token_subprotocol_without_jwt_auth_is_ignored() {
        let c = Credentials::from_headers(&headers(&[("sec-websocket-protocol", "jwt.bbb")]));
        assert!(c.candidates().is_empty());
    }
}
