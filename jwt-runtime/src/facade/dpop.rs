//! The [`DpopProof`] extractor: the proof the pipeline verified on this request, or, where no
//! pipeline verified one (a login, a token endpoint), the request's own proof, verified and
//! recorded here; [`OptionalDpopProof`] where the proof is optional.

use poem::{FromRequest, Request, RequestBody};

use super::manager::JwtManager;
use crate::engine::dpop::DPOP_HEADER;
use crate::jose::dpop::DpopProof;
use crate::operations::dpop::{unprotected_proof, PipelineProof};

impl<'a> FromRequest<'a> for DpopProof {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(PipelineProof(proof)) = req.extensions().get::<PipelineProof>() {
            return Ok(DpopProof::clone(proof));
        }
        let manager = JwtManager::of_request(req)?;
        let engine = manager.engine();
        unprotected_proof(engine, req)
            .await
            .map_err(|error| engine.refuse(req, &error, None))
    }
}

/// The request's DPoP proof when it sends one, for a login or token endpoint that issues bound
/// tokens to DPoP clients and bearer tokens to the others: `None` only when the request has no
/// `DPoP` header; a proof that is sent and fails any check is refused, with the answer
/// [`DpopProof`] gives (never an unbound token in its place, which is what `Option<DpopProof>`
/// would do: poem turns any extraction error into `None`).
///
/// ```no_run
/// use jwt_runtime::{JwtManager, OptionalDpopProof};
/// use poem::{handler, web::Json};
/// use serde_json::{json, Value};
///
/// #[handler]
/// async fn login(jwt: JwtManager, OptionalDpopProof(proof): OptionalDpopProof) -> poem::Result<Json<Value>> {
///     let builder = jwt.create_access_token("alice");
///     let (access, kind) = match &proof {
///         Some(proof) => (builder.bind(proof).await?, "DPoP"),
///         None => (builder.await?, "Bearer"),
///     };
///     Ok(Json(json!({"access_token": access, "token_type": kind})))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionalDpopProof(pub Option<DpopProof>);

impl<'a> FromRequest<'a> for OptionalDpopProof {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        if req.headers().contains_key(DPOP_HEADER)
            || req.extensions().get::<PipelineProof>().is_some()
        {
            return DpopProof::from_request(req, body)
                .await
                .map(|proof| OptionalDpopProof(Some(proof)));
        }
        Ok(OptionalDpopProof(None))
    }
}
