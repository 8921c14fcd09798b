use jwt_runtime::jwt_required as auth;
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[auth]
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }
}

fn main() {}
