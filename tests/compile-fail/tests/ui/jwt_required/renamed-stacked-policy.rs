use jwt_runtime::{admin_required as admin_only, jwt_required};
use poem::handler;

#[jwt_required(fresh)]
#[admin_only]
#[handler]
async fn purge() -> &'static str {
    "purged"
}

fn main() {}
