#[derive(serde::Deserialize, jwt_runtime::JwtClaims)]
struct MyClaims {
    foo: String,
    exp: u64,
}

fn main() {}
