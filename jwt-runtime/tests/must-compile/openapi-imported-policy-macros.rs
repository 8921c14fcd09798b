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

fn main() {
    let _ = (imported::Api, renamed_path::Api, not_imported::Api);
}
