use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(dpop, dpop = "allowed")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
