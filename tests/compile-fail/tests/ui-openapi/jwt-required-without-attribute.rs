use jwt_runtime::{jwt_required, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[OpenApi]
impl Api {
    #[jwt_required]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Identity) -> PlainText<String> {
        PlainText(identity.to_string())
    }
}

fn main() {}
