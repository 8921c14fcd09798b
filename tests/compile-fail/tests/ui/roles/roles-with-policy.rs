use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(roles = "admin", policy = jwt_runtime::Roles::any(["editor"]))]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
