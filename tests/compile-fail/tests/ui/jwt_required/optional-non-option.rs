use jwt_runtime::{jwt_required, Identity};
use poem::handler;

#[jwt_required(optional)]
#[handler]
async fn maybe(identity: Identity) -> String {
    identity.to_string()
}

fn main() {}
