//! DPoP proofs (RFC 9449) at the operations layer: what a request's proof decides once it is
//! verified. The binding of a presented token to the proof's key ([`check_binding`], one of the
//! route checks both pipeline drivers run), the replay record's verdict ([`replay_verdict`], the
//! last step of a request), and the proof of a request no pipeline protected (a login:
//! [`unprotected_proof`]).

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::engine::locate::Scheme;
use crate::engine::Engine;
use crate::jose::dpop::DpopProof;
use crate::vocabulary::{Binding, BlocklistError, DpopMode, JwtError, VerifiedJwt};

/// The proof the pipeline verified on this request, for the [`DpopProof`] extractor.
#[derive(Debug, Clone)]
pub(crate) struct PipelineProof(pub(crate) Arc<DpopProof>);

/// How the token of a request was presented: its scheme, and the proof verified with it (only
/// ever under `DPoP`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Presented<'p> {
    pub(crate) scheme: Scheme,
    pub(crate) proof: Option<&'p DpopProof>,
}

impl Presented<'_> {
    /// A bearer token (no proof).
    pub(crate) const BEARER: Presented<'static> = Presented {
        scheme: Scheme::Bearer,
        proof: None,
    };
}

/// Whether the token's DPoP binding holds for how it was presented on a route of `mode`
/// (RFC 9449 sections 7.1-7.2): a bound token only under `DPoP` with a proof by its key, an
/// unbound one only as `Bearer`, and a route that requires DPoP takes only bound tokens.
pub(crate) fn check_binding(
    token: &VerifiedJwt,
    mode: DpopMode,
    presented: Presented<'_>,
) -> Result<(), JwtError> {
    let refuse = |message: &'static str| Err(JwtError::DpopBinding(message.into()));
    match (presented.scheme, &token.parts().facts().binding) {
        (_, Binding::Unknown) => {
            refuse("The token's cnf claim names no DPoP key (jkt) this server can check")
        }
        (Scheme::Bearer, Binding::Jkt(_)) => {
            refuse("A DPoP-bound token must be sent with the DPoP authorization scheme")
        }
        (Scheme::Bearer, Binding::Unbound) if mode == DpopMode::Required => {
            refuse("This route requires a DPoP-bound token")
        }
        (Scheme::Bearer, Binding::Unbound) => Ok(()),
        (Scheme::Dpop, Binding::Unbound) => {
            refuse("The DPoP authorization scheme was used with a token that is not DPoP-bound")
        }
        (Scheme::Dpop, Binding::Jkt(jkt)) => match presented.proof {
            Some(proof) if bool::from(jkt.as_bytes().ct_eq(proof.thumbprint().as_bytes())) => {
                Ok(())
            }
            Some(_) => refuse("The token is bound to another key than the DPoP proof's"),
            None => Err(JwtError::InvalidDpopProof(
                "Invalid DPoP proof: missing DPoP header".into(),
            )),
        },
    }
}

/// What the store's answer to recording a proof decides: the first time passes, a replay is an
/// invalid proof, a store that cannot answer refuses (fail closed, 503).
pub(crate) fn replay_verdict(answer: Result<bool, &BlocklistError>) -> Result<(), JwtError> {
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => Err(JwtError::InvalidDpopProof(
            "Invalid DPoP proof: this proof was used before".into(),
        )),
        Err(e) => {
            tracing::error!(target: "jwt_runtime", reason = %e, "DPoP replay store unavailable; refusing (fail closed)");
            Err(JwtError::RevocationUnavailable)
        }
    }
}

/// The proof of a request no pipeline verified one for (a login, a token endpoint): every check
/// but `ath` (no token was presented), a missing nonce answered 400, then recorded.
pub(crate) async fn unprotected_proof(
    engine: &Engine,
    req: &poem::Request,
) -> Result<DpopProof, JwtError> {
    let proof = engine.request_proof(req, None, true)?;
    let record = engine.proof_record(&proof);
    let answer = match engine.store.record_proof_now(&record) {
        Some(answer) => answer,
        None => engine.store.record_proof(&record).await,
    };
    replay_verdict(answer.as_ref().copied())?;
    Ok(proof)
}
