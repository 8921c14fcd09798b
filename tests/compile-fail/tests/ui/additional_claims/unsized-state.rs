use serde_json::Value;

// State is one registered value of a sized type: no `str` can be registered.
#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value, tenant: &str) -> Value {
    let _ = (identity, tenant);
    Value::Null
}

fn main() {}
