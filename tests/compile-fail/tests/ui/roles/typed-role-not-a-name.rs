use jwt_runtime::jwt_required;
use poem::handler;

enum Role {
    Admin,
}

#[jwt_required(roles = [Role::Admin])]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
