use jwt_runtime::{jwt_required, Identity};
use poem::handler;
use poem::web::Data;

// Poem's `#[handler]` takes type parameters only: a lifetime stays elided (`Data<&String>`).
#[jwt_required]
#[handler]
async fn greet<'a>(identity: Identity, greeting: Data<&'a String>) -> String {
    format!("{} {identity}", greeting.0)
}

fn main() {}
