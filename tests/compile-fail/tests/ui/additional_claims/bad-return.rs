use serde_json::Value;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value) -> String {
    identity.to_string()
}

fn main() {}
