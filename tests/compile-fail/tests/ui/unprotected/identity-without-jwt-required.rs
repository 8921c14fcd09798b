use jwt_runtime::Identity;
use poem::handler;

#[handler]
async fn unprotected(identity: Identity) -> String {
    identity.to_string()
}

fn main() {}
