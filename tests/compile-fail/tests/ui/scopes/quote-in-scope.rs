use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(scopes = "a\"b")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
