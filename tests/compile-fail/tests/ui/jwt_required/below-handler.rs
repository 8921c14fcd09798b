use jwt_runtime::{jwt_required, Identity};
use poem::handler;

#[handler]
#[jwt_required]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

fn main() {}
