use jwt_runtime::{jwt_public, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi(jwt_required)]
#[OpenApi]
impl Api {
    #[jwt_public]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Option<Identity>) -> PlainText<String> {
        PlainText(format!("{identity:?}"))
    }
}

fn main() {}
