use jwt_runtime::jwt_required;
use poem::handler;

struct Api;

impl Api {
    #[jwt_required]
    #[handler]
    async fn protected(&self) -> &'static str {
        "ok"
    }
}

fn main() {}
