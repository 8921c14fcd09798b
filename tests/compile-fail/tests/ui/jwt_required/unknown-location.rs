use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(locations = "header,query_string")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
