//! Who is looking at a page: the sessions a sign-in opens, and the layer
//! that finds the visitor of every page request.
//!
//! A writer or reader signs in with their token (`POST /signin`): the token
//! is checked as the API checks a bearer token, and a session is opened. The
//! cookie carries only the session's id (32 random bytes), never the token;
//! the server keeps the map from session id to account name, with an
//! expiry, in memory (a restarted server signs everyone out). The account's
//! role is looked up on every request, so a revoked account is signed out
//! at once. The cookie is `HttpOnly`, `SameSite=Strict`, `Path=/`, and
//! `Secure` when the server speaks TLS.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand_core::{OsRng, RngCore};

use claims_core::account::{authenticate, Role};

use crate::app::App;
use crate::auth::{Caller, Peer};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "claims_session";
/// How long a session lasts after its sign-in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// The most sessions kept at once; past it, the oldest are closed.
const MAX_SESSIONS: usize = 10_000;

/// Whether the connection a request came on is TLS (set by the listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Secure(pub bool);

struct Entry {
    account: String,
    csrf: String,
    expires: Instant,
}

/// The open sessions: session id → account name, CSRF token, expiry.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

/// A session as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// Its id (the cookie's value).
    pub id: String,
    /// The token every POST form of this session carries.
    pub csrf: String,
    /// The account signed in.
    pub account: String,
}

/// `n` random bytes from the operating system, in hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Sessions {
    /// Opens a session for `account`.
    pub(crate) fn open(&self, account: &str) -> Session {
        self.open_for(account, LIFETIME)
    }

    /// Opens a session for `account` that lasts `lifetime`.
    fn open_for(&self, account: &str, lifetime: Duration) -> Session {
        let s = Session {
            id: random_hex(32),
            csrf: random_hex(32),
            account: account.to_string(),
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| e.expires > now);
        }
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            s.id.clone(),
            Entry {
                account: s.account.clone(),
                csrf: s.csrf.clone(),
                expires: now + lifetime,
            },
        );
        s
    }

    /// The session `id` names, if it is open and has not expired.
    pub(crate) fn find(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(id)?;
        if e.expires <= Instant::now() {
            map.remove(id);
            return None;
        }
        Some(Session {
            id: id.to_string(),
            csrf: e.csrf.clone(),
            account: e.account.clone(),
        })
    }

    /// Closes session `id`.
    pub(crate) fn close(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// Who is looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    /// The account signed in (or a bearer token's), the owner on the
    /// socket, or nobody.
    pub caller: Caller,
    /// The session the cookie names, when signed in through the page.
    pub session: Option<Session>,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// Whether the server lets anyone read.
    pub public_read: bool,
}

impl Visitor {
    /// May read the pages.
    pub(crate) fn may_read(&self) -> bool {
        match &self.caller {
            Caller::Anonymous => self.public_read,
            c => c.require(Role::Reader).is_ok(),
        }
    }

    /// May record events through the forms (a writer or admin signed in).
    pub(crate) fn may_write(&self) -> bool {
        matches!(&self.caller, Caller::Account { role, .. } if role.allows(Role::Writer))
    }

    /// The account's name and role, when one is signed in.
    pub(crate) fn account(&self) -> Option<(&str, Role)> {
        match &self.caller {
            Caller::Account { name, role } => Some((name, *role)),
            _ => None,
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value for `name`: HttpOnly, SameSite=Strict, Path=/, and
/// Secure over TLS; `max_age` zero removes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let mut s = format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        max_age.as_secs()
    );
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The layer in front of every page: finds the visitor (the session's
/// account, a bearer token's on a GET, the owner on the socket, or nobody)
/// and hands it to the handler.
pub(crate) async fn layer(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let secure = req
        .extensions()
        .get::<Secure>()
        .copied()
        .unwrap_or_default()
        .0;
    let public_read = app.options().public_read;
    let mut session = None;
    let caller = if req.extensions().get::<Peer>() == Some(&Peer::Local) {
        Caller::Local
    } else if let Some(s) = cookie(req.headers(), COOKIE).and_then(|id| app.sessions().find(id)) {
        let accounts = app.accounts();
        let found = accounts
            .iter()
            .find(|a| a.name == s.account && a.is_active())
            .map(|a| Caller::Account {
                name: a.name.clone(),
                role: a.role,
            });
        drop(accounts);
        match found {
            Some(c) => {
                session = Some(s);
                c
            }
            None => {
                app.sessions().close(&s.id);
                Caller::Anonymous
            }
        }
    } else if let Some(token) = bearer(req.headers()) {
        // A script may read the pages with its token (never write: a form
        // needs a session and its CSRF token).
        let accounts = app.accounts();
        match authenticate(&accounts, token) {
            Some(a) if req.method() == axum::http::Method::GET => Caller::Account {
                name: a.name.clone(),
                role: a.role.min(Role::Reader),
            },
            _ => Caller::Anonymous,
        }
    } else {
        Caller::Anonymous
    };
    req.extensions_mut().insert(Visitor {
        caller,
        session,
        secure,
        public_read,
    });
    next.run(req).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_it_is_closed() {
        let s = Sessions::default();
        let a = s.open("wes");
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, a.csrf);
        assert_eq!(s.find(&a.id), Some(a.clone()));
        assert_eq!(s.find("0000"), None);
        s.close(&a.id);
        assert_eq!(s.find(&a.id), None);
    }

    #[test]
    fn an_expired_session_is_not_found() {
        let s = Sessions::default();
        let a = s.open_for("wes", Duration::ZERO);
        assert_eq!(s.find(&a.id), None);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; claims_session=xyz".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        let v = set_cookie(COOKIE, "v", LIFETIME, true);
        let v = v.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(v.contains(part), "{v}");
        }
    }
}
