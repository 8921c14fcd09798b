use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(scopes = "a", any_scopes = "b")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
