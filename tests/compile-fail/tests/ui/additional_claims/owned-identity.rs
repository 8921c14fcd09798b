use serde_json::Value;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: Value) -> Value {
    identity
}

fn main() {}
