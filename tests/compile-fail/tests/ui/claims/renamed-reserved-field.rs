#[derive(serde::Deserialize, jwt_runtime::JwtClaims)]
struct MyClaims {
    #[serde(rename = "sub")]
    user: String,
}

fn main() {}
