//! Who is asking, and whether their role allows it: a layer in front of
//! every route. A connection on the ledger's own Unix socket (whose peer is
//! this Unix user, checked by the listener) is the ledger's owner; a network
//! request carries `Authorization: Bearer TOKEN`, compared in constant time
//! against the stored hashes ([`claims_core::account::authenticate`]).

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;

use claims_core::account::{authenticate, Role};

use crate::app::App;
use crate::error::ApiError;

/// Where a connection came from (set by the listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The ledger's Unix socket, from this Unix user.
    Local,
    /// The network.
    Network,
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The ledger's owner on its Unix socket: every right; what it appends
    /// is a local append (no `recorded_by`).
    Local,
    /// An account.
    Account {
        /// Its name, written as `recorded_by`.
        name: String,
        /// Its role.
        role: Role,
    },
    /// Nobody (a GET of a `--public-read` server).
    Anonymous,
}

impl Caller {
    /// The name an append by this caller is recorded by.
    pub fn recorded_by(&self) -> Option<String> {
        match self {
            Caller::Account { name, .. } => Some(name.clone()),
            _ => None,
        }
    }

    /// Refuses the request unless the caller's role allows `need`.
    pub fn require(&self, need: Role) -> Result<(), ApiError> {
        match self {
            Caller::Local => Ok(()),
            Caller::Account { name, role } if role.allows(need) => {
                let _ = name;
                Ok(())
            }
            Caller::Account { name, role } => {
                Err(ApiError::forbidden(name, role.as_str(), need.as_str()))
            }
            Caller::Anonymous if need == Role::Reader => Ok(()),
            Caller::Anonymous => Err(ApiError::unauthorized()),
        }
    }
}

/// The role a route needs: reading for every GET, writing to append, admin
/// for accounts.
fn needs(method: &Method, path: &str) -> Role {
    if path.starts_with("/v1/users") || path == "/v1/import" {
        Role::Admin
    } else if method == Method::GET || method == Method::HEAD || path == "/v1/ids/short" {
        Role::Reader
    } else {
        Role::Writer
    }
}

/// The layer: finds the caller, refuses what its role does not allow, and
/// hands the caller to the handler as an extension.
pub async fn layer(State(app): State<App>, mut req: Request, next: Next) -> Response {
    // The web page finds its visitor itself (a session cookie), and
    // decides per page (crate::web::session).
    if req.uri().path() == "/healthz" || crate::web::is_page(req.uri().path()) {
        return next.run(req).await;
    }
    match caller(&app, &req) {
        Ok(caller) => {
            if let Err(e) = caller.require(needs(req.method(), req.uri().path())) {
                return axum::response::IntoResponse::into_response(e);
            }
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

fn caller(app: &App, req: &Request) -> Result<Caller, ApiError> {
    if req.extensions().get::<Peer>() == Some(&Peer::Local) {
        return Ok(Caller::Local);
    }
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        let read = needs(req.method(), req.uri().path()) == Role::Reader;
        return if app.options().public_read && read {
            Ok(Caller::Anonymous)
        } else {
            Err(ApiError::unauthorized())
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)?;
    let accounts = app.accounts();
    match authenticate(&accounts, token) {
        Some(a) => Ok(Caller::Account {
            name: a.name.clone(),
            role: a.role,
        }),
        None => Err(ApiError::unauthorized()),
    }
}
