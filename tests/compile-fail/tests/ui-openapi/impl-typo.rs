use jwt_runtime::{jwt_public, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

// Only the misspelling is reported: the operations expand as if it were written right.
#[jwt_runtime::openapi(jwt_requird)]
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
}

fn main() {}
