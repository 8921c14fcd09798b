use jwt_runtime::jwt_required;
use poem_openapi::{payload::PlainText, OpenApi};

struct Staff;

#[jwt_runtime::openapi(jwt_required(roles = "staff", issuer = "https://a.example", dpop = "disabled"))]
#[OpenApi]
impl Staff {
    // A refresh token holds no roles, and the impl's `roles` are not dropped.
    #[jwt_required(refresh)]
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    #[jwt_required(issuer = "https://b.example")]
    #[oai(path = "/issuer", method = "get")]
    async fn issuer(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    #[jwt_required(dpop)]
    #[oai(path = "/dpop", method = "get")]
    async fn dpop(&self) -> PlainText<&'static str> {
        PlainText("x")
    }
}

struct Refresh;

#[jwt_runtime::openapi(jwt_required(refresh))]
#[OpenApi]
impl Refresh {
    // A refresh token is never fresh: still a contradiction across the two attributes.
    #[jwt_required(fresh)]
    #[oai(path = "/fresh", method = "post")]
    async fn fresh(&self) -> PlainText<&'static str> {
        PlainText("x")
    }
}

fn main() {}
