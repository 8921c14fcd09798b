use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[oai(path = "/me", method = "get")]
    async fn me(&self) -> PlainText<&'static str> {
        PlainText("me")
    }

    #[admin_required]
    async fn helper(&self) {}
}

fn main() {}
