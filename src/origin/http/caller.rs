//! Who is calling, as extractors: each authenticates the bearer credential and checks
//! one role before the handler runs.
//!
//! Axum runs `FromRequestParts` extractors in argument order and the body last, so a
//! handler taking one of these first answers an unauthenticated request 401 and a
//! caller without the role 403 before its path, query or body is read: a malformed
//! request from a stranger learns nothing about the route's input (`docs/api.md`,
//! "Order of checks"). Holding a value of one of these types is the proof that the
//! check passed; the helpers on [`App`] take them instead of the headers.

use super::error::ApiError;
use super::extract::bearer;
use super::App;
use crate::origin::auth::{self, Principal};
use crate::origin::OriginError;
use axum::extract::FromRequestParts;
use axum::http::{request::Parts, HeaderMap};

impl App {
    /// The principal of the bearer credential in `headers` (401 when missing, malformed
    /// or unknown).
    pub(super) async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let secret = bearer(headers)?;
        self.blocking(move |origin| origin.read(|op| auth::authenticate(op.db, &secret)))
            .await
    }
}

/// Tokens only: SDK keys read snapshots and send metrics, nothing else.
pub(super) fn any_token(who: &Principal) -> Result<(), OriginError> {
    if who.kind == "token" {
        Ok(())
    } else {
        Err(OriginError::Forbidden(
            "SDK keys only read snapshots".into(),
        ))
    }
}

macro_rules! role {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        // Some handlers need only the check, not the principal.
        #[allow(dead_code)]
        pub(super) struct $name(pub Principal);

        impl FromRequestParts<App> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
                let who = app.authenticate(&parts.headers).await?;
                let check: fn(&Principal) -> Result<(), OriginError> = $check;
                check(&who)?;
                Ok($name(who))
            }
        }
    };
}

role!(
    /// Any authenticated caller: a token or an SDK key.
    Caller,
    |_| Ok(())
);
role!(
    /// A caller that may read the environments (any token role, or an SDK key).
    Reader,
    Principal::require_read
);
role!(
    /// A token (any role): approving, rejecting, cancelling, applying, reviewing,
    /// where the operation itself decides what the caller's roles allow.
    Token,
    any_token
);
role!(
    /// An editor (or an admin): proposing changes, rollouts, bulk updates.
    Editor,
    Principal::require_edit
);
role!(
    /// An admin: environments, tokens, SDK keys, keys, webhooks, publish targets.
    Admin,
    Principal::require_admin
);
