//! The verifiable log (README, "A log anyone can check"): `GET /v1/tree`
//! (a tree head, unsigned), `GET /v1/proof` (`claims prove`'s proofs) and
//! `GET /v1/checkpoint` (the tree head signed with the server's key, when
//! it was started with one).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use claims_api::answer;
use claims_api::proofs::{prove, ProveParams, TreeParams};
use claims_core::{Error, Store};
use claims_transparency::Checkpoint;

use super::read::NoParams;
use super::{json, Q};
use crate::app::App;
use crate::error::{ApiError, ApiResult};

fn tree_size(l: &crate::SharedLedger, size: Option<u64>) -> ApiResult<u64> {
    let head = l.store().head().seq;
    match size {
        None => Ok(head),
        Some(s) if s <= head => Ok(s),
        Some(s) => Err(Error::invalid(format!(
            "--size {s}: the log has {head} entries, so there is no tree of size {s} yet"
        ))
        .into()),
    }
}

/// `GET /v1/tree[?size=N]`: `{"size":N,"root":HEX}`.
pub(crate) async fn tree(State(app): State<App>, Q(p): Q<TreeParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let size = tree_size(l, p.size)?;
        let root = l.tree_root(size)?;
        let mut out = Vec::new();
        answer::value(
            &mut out,
            &serde_json::json!({"size": size, "root": hex::encode(root)}),
        )
        .map_err(|f| ApiError::from(f.into_error("writing the answer")))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/proof?event=E[&size=N]` or `?consistency=M[&size=N]`.
pub(crate) async fn proof(State(app): State<App>, Q(p): Q<ProveParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let v = prove(l, &p)?;
        let mut out = Vec::new();
        answer::value(&mut out, &v)
            .map_err(|f| ApiError::from(f.into_error("writing the answer")))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/checkpoint`: the current tree head as a signed note (C2SP
/// tlog-checkpoint), signed with the key the server was started with.
pub(crate) async fn checkpoint(State(app): State<App>, Q(_): Q<NoParams>) -> ApiResult<Response> {
    let Some(key) = app.options().signer.clone() else {
        return Err(Error::not_found("this server signs no checkpoints")
            .with_hint("start it with `claims serve --listen ADDR --key FILE`, or sign one with `claims checkpoint --key FILE`")
            .into());
    };
    app.read(move |l| {
        let size = l.store().head().seq;
        let root = l.tree_root(size)?;
        let note = Checkpoint::sign(&key, size, root)
            .map_err(|e| Error::invalid(format!("signing the checkpoint: {e}")))?;
        Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note,
        )
            .into_response())
    })
    .await
}
