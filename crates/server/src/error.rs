//! Every refusal the server gives, as SPEC's error shape with its status.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use claims_api::error::{ErrorBody, Kind};
use claims_core::Error;

/// An error answer.
#[derive(Debug)]
pub struct ApiError(pub ErrorBody);

impl ApiError {
    /// An answer of `kind` with one sentence and a hint.
    pub fn new(kind: Kind, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError(ErrorBody::new(kind, message, hint))
    }

    /// 400: a request this API does not take (a malformed query, a bad
    /// parameter).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(
            Kind::Ledger(claims_core::ErrorKind::InvalidInput),
            message,
            "see docs/api.md for the routes and their parameters",
        )
    }

    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            Kind::Unauthorized,
            "the request carries no valid token",
            "send `Authorization: Bearer TOKEN` with a token from `claims user add`",
        )
    }

    /// 403.
    pub fn forbidden(name: &str, role: &str, needs: &str) -> ApiError {
        ApiError::new(
            Kind::Forbidden,
            format!("account {name} is a {role}, and this request needs a {needs}"),
            "ask an admin for an account with that role",
        )
    }

    /// 503: the writer's queue is full, or the server is stopping.
    pub fn busy() -> ApiError {
        ApiError::new(
            Kind::Busy,
            "the server has more appends waiting than it takes",
            "try again in a moment",
        )
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        let code = self.0.kind().map_or(500, Kind::status);
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(ErrorBody::of(&e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.0.to_json();
        body.push('\n');
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// 413: a body larger than the server takes.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Kind::TooLarge,
        format!("the request body is larger than this server takes ({limit} bytes)"),
        "send the events in smaller requests",
    )
}

/// A request body as read, or the refusal: 413 past the limit, else 400.
pub fn body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    app: &crate::App,
) -> ApiResult<axum::body::Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(app.options().limits.body_bytes)
        } else {
            ApiError::bad_request(format!(
                "the request body could not be read: {}",
                e.body_text()
            ))
        }
    })
}

/// A JSON request body (whatever its Content-Type says), refused with the
/// error shape when it does not read as `T`.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not the JSON this route takes ({e})"
        ))
    })
}

/// What a handler gives.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
