use jwt_runtime::{jwt_required, CurrentUser};
use poem::handler;

struct User {
    name: String,
}

#[jwt_required]
#[handler]
async fn me(user: CurrentUser<User>) -> String {
    user.name.clone()
}

fn main() {}
