use serde_json::Value;

struct Pool;
struct Cache;

#[jwt_runtime::additional_claims]
async fn add_claims(identity: &Value, pool: &Pool, cache: &Cache) -> Value {
    let _ = (identity, pool, cache);
    Value::Null
}

fn main() {}
