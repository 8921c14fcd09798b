use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(role = "admin")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
