use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[OpenApi]
#[jwt_runtime::openapi]
impl Api {
    #[jwt_required]
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }
}

fn main() {}
