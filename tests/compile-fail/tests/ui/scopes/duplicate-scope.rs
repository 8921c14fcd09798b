use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(any_scopes = "notes:read notes:read")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
