use jwt_runtime::{admin_required, jwt_required, JwtError, JwtPolicy, VerifiedJwt};
use poem::Request;
use poem_openapi::{payload::PlainText, OpenApi};

struct Owner;
impl JwtPolicy for Owner {
    async fn check(&self, _: &VerifiedJwt, _: &Request) -> Result<(), JwtError> {
        Ok(())
    }
}

struct Api;

// Each operation's attribute narrows the impl's protection; these cannot be combined, and
// each is an error naming the impl's arguments (never a silent replacement).
#[jwt_runtime::openapi(jwt_required(roles = "staff, intern"))]
#[OpenApi]
impl Api {
    #[jwt_required(roles = "admin, owner")]
    #[oai(path = "/disjoint", method = "get")]
    async fn disjoint(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    #[admin_required]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    #[jwt_required(policy = Owner)]
    #[oai(path = "/policy", method = "get")]
    async fn policy(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    #[jwt_required(roles = "staff", role_claim = "groups")]
    #[oai(path = "/claim", method = "get")]
    async fn claim(&self) -> PlainText<&'static str> {
        PlainText("x")
    }

    // Fine: implied by the impl's roles (staff is one of them), so it narrows them.
    #[jwt_required(roles = "staff")]
    #[oai(path = "/staff", method = "get")]
    async fn staff(&self) -> PlainText<&'static str> {
        PlainText("x")
    }
}

fn main() {}
