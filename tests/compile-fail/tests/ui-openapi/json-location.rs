use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[jwt_required(locations = "headers, json")]
    #[oai(path = "/me", method = "post")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }
}

fn main() {}
