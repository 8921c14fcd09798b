use serde_json::Value;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value, extra: u32) -> Value {
    let _ = (identity, extra);
    Value::Null
}

fn main() {}
