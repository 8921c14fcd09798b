use jwt_runtime::{jwt_public, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi(jwt_required(fresh, locations = "cookies"))]
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
