use jwt_runtime::admin_required;
use poem::handler;

#[admin_required(optional)]
#[handler]
async fn admin() -> &'static str {
    "ok"
}

fn main() {}
