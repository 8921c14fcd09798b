use jwt_runtime::jwt_required;
use poem::handler;

struct NotAPolicy;

#[jwt_required(policy = NotAPolicy)]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

fn main() {}
