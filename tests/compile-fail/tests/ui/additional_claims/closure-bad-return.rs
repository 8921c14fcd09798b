use jwt_runtime::{JwtConfig, JwtManager};

fn main() {
    let _ = JwtManager::builder(JwtConfig::default())
        .additional_claims(async |identity| format!("{identity}"));
}
