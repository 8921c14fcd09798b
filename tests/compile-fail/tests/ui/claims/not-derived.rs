use jwt_runtime::{jwt_required, Jwt};
use poem::handler;

#[derive(serde::Deserialize)]
struct Plain {
    foo: String,
}

#[jwt_required]
#[handler]
async fn protected(jwt: Jwt<Plain>) -> String {
    jwt.foo.clone()
}

fn main() {}
