use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(issuer = "https://a.example https://b.example")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
