use jwt_runtime::{jwt_public, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi(jwt_required)]
#[OpenApi]
impl Api {
    #[jwt_public]
    #[jwt_required(fresh)]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Identity) -> PlainText<String> {
        PlainText(identity.to_string())
    }
}

fn main() {}
