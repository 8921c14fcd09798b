use jwt_runtime::jwt_public;
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

// No `#[jwt_runtime::openapi]`: nothing reads the marker.
#[OpenApi]
impl Api {
    #[jwt_public]
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

fn main() {}
