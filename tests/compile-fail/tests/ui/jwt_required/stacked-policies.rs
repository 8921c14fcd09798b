use jwt_runtime::{admin_required, jwt_required};
use poem::handler;

#[jwt_required(fresh)]
#[admin_required]
#[handler]
async fn purge() -> &'static str {
    "purged"
}

fn main() {}
