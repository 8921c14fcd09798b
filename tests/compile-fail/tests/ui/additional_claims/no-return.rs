use serde_json::Value;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value) {
    let _ = identity;
}

fn main() {}
