use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(roles = "admin", all_roles = "editor")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
