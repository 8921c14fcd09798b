use jwt_runtime::{jwt_required, Identity};
use poem::handler;

// Poem's `#[handler]` takes type parameters only; a type parameter itself is accepted.
#[jwt_required]
#[handler]
async fn repeat<const N: usize, S: Send + Sync + 'static>(identity: Identity) -> String {
    identity.to_string().repeat(N)
}

fn main() {}
