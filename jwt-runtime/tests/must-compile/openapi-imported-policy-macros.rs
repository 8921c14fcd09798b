//! The policy macros `#[jwt_runtime::openapi]` consumes count as used: no false
//! `unused import: jwt_required`, and a module that does not import them still compiles.
#![deny(unused_imports)]

mod imported {
    use jwt_runtime::{admin_required, jwt_required, Identity};
    use poem_openapi::{payload::PlainText, OpenApi};

    pub struct Api;

    #[jwt_runtime::openapi]
    #[OpenApi]
    impl Api {
        #[jwt_required(fresh)]
        #[oai(path = "/me", method = "get")]
        async fn me(&self, identity: Identity) -> PlainText<String> {
            PlainText(identity.to_string())
        }

        #[admin_required]
        #[oai(path = "/admin", method = "get")]
        async fn admin(&self) -> PlainText<&'static str> {
            PlainText("admin")
        }
    }
}

mod renamed_path {
    use jwt_runtime as auth;
    use poem_openapi::{payload::PlainText, OpenApi};

    pub struct Api;

    #[auth::openapi]
    #[OpenApi]
    impl Api {
        #[auth::jwt_required]
        #[oai(path = "/me", method = "get")]
        async fn me(&self) -> PlainText<&'static str> {
            PlainText("me")
        }
    }
}

mod not_imported {
    use poem_openapi::{payload::PlainText, OpenApi};

    pub struct Api;

    #[jwt_runtime::openapi]
    #[OpenApi]
    impl Api {
        #[jwt_required]
        #[oai(path = "/me", method = "get")]
        async fn me(&self) -> PlainText<&'static str> {
            PlainText("me")
        }
    }
}

/// A whole impl protected, `#[jwt_public]` imported, under its path, or not imported.
mod whole_impl {
    use jwt_runtime::{jwt_public, Identity};
    use poem_openapi::{payload::PlainText, OpenApi};

    pub struct Api;

    #[jwt_runtime::openapi(jwt_required(fresh))]
    #[OpenApi]
    impl Api {
        #[oai(path = "/me", method = "get")]
        async fn me(&self, identity: Identity) -> PlainText<String> {
            PlainText(identity.to_string())
        }

        #[jwt_public]
        #[oai(path = "/health", method = "get")]
        async fn health(&self) -> PlainText<&'static str> {
            PlainText("ok")
        }

        #[jwt_runtime::jwt_public]
        #[oai(path = "/version", method = "get")]
        async fn version(&self) -> PlainText<&'static str> {
            PlainText("1")
        }
    }

    mod not_imported {
        use poem_openapi::{payload::PlainText, OpenApi};

        pub struct Api;

        #[jwt_runtime::openapi(admin_required)]
        #[OpenApi]
        impl Api {
            #[jwt_public]
            #[oai(path = "/health", method = "get")]
            async fn health(&self) -> PlainText<&'static str> {
                PlainText("ok")
            }
        }
    }

    pub use not_imported::Api as NotImported;
}

fn main() {
    let _ = (imported::Api, renamed_path::Api, not_imported::Api);
    let _ = (whole_impl::Api, whole_impl::NotImported);
}
