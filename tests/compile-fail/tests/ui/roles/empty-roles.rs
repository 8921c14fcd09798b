use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(roles = " , ")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
