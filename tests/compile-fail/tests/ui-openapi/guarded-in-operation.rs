use jwt_runtime::{Guarded, Identity};
use poem_openapi::{payload::PlainText, OpenApi};

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    // Relies on a `JwtRequired` group the document cannot show.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Guarded<Identity>) -> PlainText<String> {
        PlainText(identity.to_string())
    }

    // Protected here: `Guarded` is a detour.
    #[jwt_required]
    #[oai(path = "/you", method = "get")]
    async fn you(&self, identity: Guarded<Identity>) -> PlainText<String> {
        PlainText(identity.to_string())
    }
}

fn main() {}
