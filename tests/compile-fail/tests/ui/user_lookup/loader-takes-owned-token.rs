use jwt_runtime::{user_lookup_loader, VerifiedJwt};

struct User;

#[user_lookup_loader]
async fn load_user(token: VerifiedJwt) -> Option<User> {
    let _ = token;
    Some(User)
}

fn main() {}
