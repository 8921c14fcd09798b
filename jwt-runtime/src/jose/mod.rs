//! JOSE: keys and key sets (the manager's own, a remote JWK set, trusted issuers), the JWS layer
//! that verifies a token's signature and reads its claims, and the verifiers it builds once per
//! key. Below the engine, above the config: nothing here knows of requests or stores.

pub(crate) mod dpop;
pub(crate) mod htu;
pub(crate) mod issuers;
pub(crate) mod json;
pub(crate) mod jws;
pub(crate) mod keys;
#[cfg(feature = "remote-jwks")]
pub(crate) mod remote;
pub(crate) mod verifiers;

/// Without the `remote-jwks` feature there is never a remote set: an uninhabited stand-in.
#[cfg(not(feature = "remote-jwks"))]
pub(crate) mod remote {
    use super::keys::RemoteKeys;

    #[derive(Debug)]
    pub(crate) enum RemoteJwks {}

    impl RemoteJwks {
        pub(crate) fn current(&self) -> RemoteKeys {
            match *self {}
        }

        pub(crate) async fn keys_for_kid(&self, _kid: &str) -> RemoteKeys {
            match *self {}
        }

        pub(crate) fn has_kid(&self, _kid: &str) -> bool {
            match *self {}
        }
    }
}
