use jwt_runtime::admin_required;
use poem::handler;

#[admin_required(refresh)]
#[handler]
async fn purge() -> &'static str {
    "purged"
}

fn main() {}
