#[derive(serde::Deserialize, jwt_runtime::JwtClaims)]
struct MyClaims(String);

fn main() {}
