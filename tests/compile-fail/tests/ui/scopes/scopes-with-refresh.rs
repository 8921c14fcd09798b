use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(refresh, scopes = "notes:read")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
