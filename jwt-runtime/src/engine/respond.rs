//! The one place a refusal becomes a response: it is logged (INFO, or ERROR for a server fault),
//! then shaped by the application's callback for its kind, its `on_error` hook, or the default
//! `{"<JWT_ERROR_MESSAGE_KEY>": "<message>"}` with the kind's (possibly overridden) status.
//! The pipeline, the extractors, user loading and policies all call [`Engine::refuse`]. The
//! answer to OPTIONS on a protected route ([`preflight_response`]) is built here too.

use poem::{Request, Response};

use super::Engine;
use crate::vocabulary::{JwtError, VerifiedJwt};

impl Engine {
    /// The default response for `error` under this config.
    pub(crate) fn error_response(&self, error: &JwtError) -> Response {
        crate::vocabulary::message_response(
            self.settings.status(error.kind()),
            &self.config.error_message_key,
            error.public_message(),
        )
    }

    /// Logs the refusal of `req` and turns it into its response. `token` is the verified token
    /// when the failing check came after verification (the callbacks get its header and payload).
    pub(crate) fn refuse(
        &self,
        req: &Request,
        error: &JwtError,
        token: Option<&VerifiedJwt>,
    ) -> poem::Error {
        let response = self
            .hooks
            .response_for(error, token)
            .unwrap_or_else(|| self.error_response(error));
        log(req, error, response.status().as_u16());
        poem::Error::from_response(response)
    }
}

/// A refusal where no manager is reachable (its middleware is missing): logged, with the
/// default body.
pub(crate) fn refuse_without_engine(req: &Request, error: &JwtError) -> poem::Error {
    let response = error.to_response("msg");
    log(req, error, response.status().as_u16());
    poem::Error::from_response(response)
}

fn log(req: &Request, error: &JwtError, status: u16) {
    let (path, kind, reason) = (req.uri().path(), error.kind().name(), error.message());
    if error.status().is_server_error() {
        tracing::error!(target: "jwt_runtime", path, kind, status, reason, "jwt check failed");
    } else {
        tracing::info!(target: "jwt_runtime", path, kind, status, reason, "jwt rejected");
    }
}

/// `204 No Content` with no body: the answer to OPTIONS on a protected route.
pub(crate) fn preflight_response() -> Response {
    tracing::debug!(target: "jwt_runtime", "OPTIONS on a protected route answered without running it");
    Response::builder()
        .status(poem::http::StatusCode::NO_CONTENT)
        .finish()
}
