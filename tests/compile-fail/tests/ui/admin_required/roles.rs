use jwt_runtime::admin_required;
use poem::handler;

#[admin_required(roles = "admin")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
