use jwt_runtime::JwtClaims;

#[derive(serde::Deserialize, JwtClaims)]
struct Claims {
    cnf: serde_json::Value,
}

fn main() {}
