use serde_json::Value;

struct Pool;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value, pool: &mut Pool) -> Value {
    let _ = (identity, pool);
    Value::Null
}

fn main() {}
