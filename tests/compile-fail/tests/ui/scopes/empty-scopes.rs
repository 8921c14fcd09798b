use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(scopes = "")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
