use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[jwt_required(refresh, roles = "admin")]
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }
}

fn main() {}
