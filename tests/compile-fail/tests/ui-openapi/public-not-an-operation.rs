use jwt_runtime::{jwt_public, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi(jwt_required)]
#[OpenApi]
impl Api {
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Identity) -> PlainText<String> {
        PlainText(identity.to_string())
    }

    #[jwt_public]
    fn helper(&self) {}
}

fn main() {}
