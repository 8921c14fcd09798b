use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(optional, any_scopes = "a")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
