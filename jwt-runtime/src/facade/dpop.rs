//! The [`DpopProof`] extractor: the proof the pipeline verified on this request, or, where no
//! pipeline verified one (a login, a token endpoint), the request's own proof, verified and
//! recorded here.

use poem::{FromRequest, Request, RequestBody};

use super::manager::JwtManager;
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
