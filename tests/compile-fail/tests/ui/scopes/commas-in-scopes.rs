use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(scopes = "notes:read, notes:write")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
