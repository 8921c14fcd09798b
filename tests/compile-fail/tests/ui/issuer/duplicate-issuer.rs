use jwt_runtime::jwt_required;
use poem::handler;

#[jwt_required(issuer = "https://a.example, https://a.example")]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
