use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[jwt_required(issuer = " , ")]
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }
}

fn main() {}
