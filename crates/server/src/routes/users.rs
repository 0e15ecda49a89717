//! The accounts, for admins: `GET /v1/users`, `POST /v1/users`
//! `{"name":N,"role":R}` (answers the new token, once), `DELETE
//! /v1/users/{name}` (revokes). Only each token's hash is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use claims_core::account::{self, Account, Role};
use claims_core::Error;

use super::read::NoParams;
use super::Q;
use crate::app::App;
use crate::error::{json_body, ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

/// An account as listed: never its hash.
pub(crate) fn account_json(a: &Account) -> serde_json::Value {
    a.to_json()
}

pub(crate) async fn list(State(app): State<App>, Q(_): Q<NoParams>) -> ApiResult<Response> {
    let accounts = app.accounts();
    let rows: Vec<_> = accounts.iter().map(account_json).collect();
    Ok(Json(serde_json::Value::Array(rows)).into_response())
}

/// The body of `POST /v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccount {
    name: String,
    role: String,
}

pub(crate) async fn add(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body: NewAccount = json_body(&body.map_err(|e| ApiError::bad_request(e.body_text()))?)?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::from(Error::invalid(format!(
            "role `{}` is not one of reader, writer, admin",
            body.role
        )))
    })?;
    let (account, token) = app
        .blocking(move |app| {
            let token = account::new_token(&mut rand_core::OsRng);
            let account = Account::new(&body.name, role, &token, Utc::now())?;
            let mut l = app.write_ledger();
            l.add_account(&account)?;
            app.set_accounts(l.accounts()?);
            Ok((account, token))
        })
        .await?;
    let mut v = account_json(&account);
    v["token"] = token.into();
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(crate) async fn revoke(
    State(app): State<App>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let account = app
        .blocking(move |app| {
            let mut l = app.write_ledger();
            let a = l.revoke_account(&name, Utc::now())?;
            app.set_accounts(l.accounts()?);
            Ok(a)
        })
        .await?;
    Ok(Json(account_json(&account)).into_response())
}
