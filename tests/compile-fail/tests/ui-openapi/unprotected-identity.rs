use jwt_runtime::Identity;
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Identity) -> PlainText<String> {
        PlainText(identity.to_string())
    }
}

fn main() {}
