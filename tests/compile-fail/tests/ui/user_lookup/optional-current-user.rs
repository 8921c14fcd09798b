use jwt_runtime::{jwt_required, user_lookup_loader, CurrentUser, VerifiedJwt};
use poem::handler;

struct User;

#[user_lookup_loader]
async fn load_user(_token: &VerifiedJwt) -> Option<User> {
    Some(User)
}

#[jwt_required(optional)]
#[handler]
async fn maybe(user: CurrentUser<User>) -> &'static str {
    let _ = user;
    "ok"
}

fn main() {}
