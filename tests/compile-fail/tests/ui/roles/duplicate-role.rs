use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(all_roles = "admin, editor, admin")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
