use jwt_runtime::{jwt_required, Identity};
use poem::handler as endpoint;

#[jwt_required]
#[endpoint]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

fn main() {}
