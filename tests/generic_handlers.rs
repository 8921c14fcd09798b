//! Generic handlers under the macros (issue 10, item 4), as under Poem's `#[handler]`: type
//! parameters with bounds and where clauses, the endpoint written `name::<T>::default()`, each
//! instantiation with the whole protection (pipeline, policies, roles, user loading, OPTIONS,
//! implicit refresh).

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jwt_runtime::hooks::UserLookup;
use jwt_runtime::{
    admin_required, jwt_required, user_lookup_loader, CurrentUser, Expiry, Identity, Jwt,
    JwtClaims, VerifiedJwt,
};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Request, Route};
use serde_json::json;
use support::*;

/// Counts the runs of the counting handlers, one per app (tests run in parallel): a refused
/// request must leave it unchanged.
#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

impl Ran {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn add(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// What the handlers are generic over: a store, given to the route as data.
trait Shelf: Send + Sync + 'static {
    fn label(&self) -> &'static str;
}

#[derive(Clone)]
struct Books;
#[derive(Clone)]
struct Records;

impl Shelf for Books {
    fn label(&self) -> &'static str {
        "books"
    }
}

impl Shelf for Records {
    fn label(&self) -> &'static str {
        "records"
    }
}

#[jwt_required]
#[handler]
async fn shelf<S: Shelf>(identity: Identity, shelf: Data<&S>, ran: Data<&Ran>) -> String {
    ran.add();
    format!("{} for {identity}", shelf.0.label())
}

/// A where clause, and a role check.
#[jwt_required(roles = "librarian")]
#[handler]
async fn restock<S>(shelf: Data<&S>, ran: Data<&Ran>) -> String
where
    S: Shelf,
{
    ran.add();
    format!("restocked {}", shelf.0.label())
}

#[admin_required]
#[handler]
async fn audit<S: Shelf>(shelf: Data<&S>, ran: Data<&Ran>) -> String {
    ran.add();
    format!("audited {}", shelf.0.label())
}

/// Two typed-claims types for `Jwt<C>`. As under Poem's `#[handler]`, a type parameter must be
/// `Send + Sync` (the endpoint holds it as `PhantomData`); `JwtClaims` is `Send` only.
#[derive(serde::Deserialize, JwtClaims)]
struct TeamClaims {
    team: String,
}

#[derive(serde::Deserialize, JwtClaims)]
struct PlanClaims {
    plan: String,
}

trait Describe {
    fn describe(&self) -> String;
}

impl Describe for TeamClaims {
    fn describe(&self) -> String {
        format!("team {}", self.team)
    }
}

impl Describe for PlanClaims {
    fn describe(&self) -> String {
        format!("plan {}", self.plan)
    }
}

#[jwt_required]
#[handler]
async fn claims<C: JwtClaims + Sync + Describe>(jwt: Jwt<C>) -> String {
    jwt.describe()
}

/// Two user types for `CurrentUser<U>`, each with its loader.
struct Member {
    name: String,
}

struct Staff {
    badge: String,
}

#[user_lookup_loader]
async fn load_member(token: &VerifiedJwt, _req: &Request) -> Option<Member> {
    match token.identity().as_str() {
        Some("ghost") | None => None,
        Some(name) => Some(Member {
            name: name.to_string(),
        }),
    }
}

#[user_lookup_loader]
async fn load_staff(token: &VerifiedJwt, _req: &Request) -> Option<Staff> {
    token.identity().as_str().map(|name| Staff {
        badge: format!("#{name}"),
    })
}

trait Named {
    fn name(&self) -> String;
}

impl Named for Member {
    fn name(&self) -> String {
        self.name.clone()
    }
}

impl Named for Staff {
    fn name(&self) -> String {
        self.badge.clone()
    }
}

#[jwt_required]
#[handler]
async fn me<U: UserLookup + Named>(user: CurrentUser<U>) -> String {
    user.name()
}

/// An optional route: anonymous callers get through.
#[jwt_required(optional)]
#[handler]
async fn greet<S: Shelf>(identity: Option<Identity>, shelf: Data<&S>) -> String {
    match identity {
        Some(who) => format!("{} for {who}", shelf.0.label()),
        None => format!("{} for anyone", shelf.0.label()),
    }
}

/// A cookie route, for the implicit refresh.
#[jwt_required(locations = "cookies")]
#[handler]
async fn cookie_shelf<S: Shelf>(shelf: Data<&S>) -> String {
    shelf.0.label().to_string()
}

fn app(ran: Ran) -> impl poem::Endpoint {
    Route::new()
        .at("/books", get(shelf::<Books>::default()).data(Books))
        .at("/records", get(shelf::<Records>::default()).data(Records))
        .at(
            "/books/restock",
            get(restock::<Books>::default()).data(Books),
        )
        .at(
            "/records/restock",
            get(restock::<Records>::default()).data(Records),
        )
        .at("/books/audit", get(audit::<Books>::default()).data(Books))
        .at(
            "/records/audit",
            get(audit::<Records>::default()).data(Records),
        )
        .at("/team", get(claims::<TeamClaims>::default()))
        .at("/plan", get(claims::<PlanClaims>::default()))
        .at("/member", get(me::<Member>::default()))
        .at("/staff", get(me::<Staff>::default()))
        .at("/greet", get(greet::<Books>::default()).data(Books))
        .at(
            "/cookie",
            get(cookie_shelf::<Records>::default()).data(Records),
        )
        // Every method reaches these endpoints (a `get(..)` route answers OPTIONS 405 itself).
        .at("/any/books", shelf::<Books>::default().data(Books))
        .at("/any/restock", restock::<Records>::default().data(Records))
        .at("/any/audit", audit::<Books>::default().data(Books))
        .data(ran)
}

fn token(sub: &str, changes: serde_json::Value) -> String {
    bearer(&hs256(claims_with(sub, changes)))
}

#[tokio::test]
async fn each_instantiation_needs_a_token() {
    let ran = Ran::default();
    let cli = client(app(ran.clone()), config());
    for path in [
        "/books",
        "/records",
        "/books/restock",
        "/records/restock",
        "/books/audit",
        "/records/audit",
        "/team",
        "/plan",
        "/member",
        "/staff",
    ] {
        assert_msg(
            cli.get(path).send().await,
            401,
            "Missing Authorization Header",
        )
        .await;
    }
    assert_eq!(ran.count(), 0);
}

#[tokio::test]
async fn each_instantiation_runs_with_its_type() {
    let cli = client(app(Ran::default()), config());
    let alice = token("alice", json!({}));
    for (path, body) in [
        ("/books", "books for alice"),
        ("/records", "records for alice"),
    ] {
        let resp = cli.get(path).header("Authorization", &alice).send().await;
        resp.assert_status_is_ok();
        resp.assert_text(body).await;
    }
    let resp = cli
        .get("/team")
        .header("Authorization", token("alice", json!({"team": "red"})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("team red").await;
    let resp = cli
        .get("/plan")
        .header("Authorization", token("alice", json!({"plan": "gold"})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("plan gold").await;
    // The claims are read as the type of this instantiation: a verified token without `plan`
    // does not fit `PlanClaims` (422 `Invalid claims`, as for a non-generic handler).
    let resp = cli
        .get("/plan")
        .header("Authorization", token("alice", json!({"team": "red"})))
        .send()
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn roles_and_admin_are_checked_per_instantiation() {
    let ran = Ran::default();
    let cli = client(app(ran.clone()), config());
    for path in ["/books/restock", "/records/restock"] {
        assert_msg(
            cli.get(path)
                .header("Authorization", token("alice", json!({"roles": "reader"})))
                .send()
                .await,
            403,
            "Missing role: librarian",
        )
        .await;
    }
    for path in ["/books/audit", "/records/audit"] {
        assert_msg(
            cli.get(path)
                .header(
                    "Authorization",
                    token("alice", json!({"is_administrator": false})),
                )
                .send()
                .await,
            403,
            "Admins only!",
        )
        .await;
    }
    assert_eq!(ran.count(), 0);
    let resp = cli
        .get("/records/restock")
        .header(
            "Authorization",
            token("alice", json!({"roles": ["librarian"]})),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("restocked records").await;
    let resp = cli
        .get("/books/audit")
        .header(
            "Authorization",
            token("alice", json!({"is_administrator": true})),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("audited books").await;
    // The counter sees the runs that passed.
    assert_eq!(ran.count(), 2);
}

#[tokio::test]
async fn the_user_of_each_instantiation_is_loaded() {
    let cli = client(app(Ran::default()), config());
    let resp = cli
        .get("/member")
        .header("Authorization", token("alice", json!({})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("alice").await;
    let resp = cli
        .get("/staff")
        .header("Authorization", token("alice", json!({})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("#alice").await;
    // `Member`'s loader finds no ghost; `Staff`'s does.
    assert_msg(
        cli.get("/member")
            .header("Authorization", token("ghost", json!({})))
            .send()
            .await,
        401,
        "Error loading the user ghost",
    )
    .await;
    cli.get("/staff")
        .header("Authorization", token("ghost", json!({})))
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn options_preflight_never_runs_the_handler() {
    let ran = Ran::default();
    let cli = client(app(ran.clone()), config());
    for path in ["/any/books", "/any/restock", "/any/audit"] {
        let resp = cli
            .options(path)
            .header("Origin", "https://example.com")
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await;
        resp.assert_status(StatusCode::NO_CONTENT);
    }
    assert_eq!(ran.count(), 0);
}

#[tokio::test]
async fn optional_generic_route() {
    let cli = client(app(Ran::default()), config());
    let resp = cli.get("/greet").send().await;
    resp.assert_status_is_ok();
    resp.assert_text("books for anyone").await;
    let resp = cli
        .get("/greet")
        .header("Authorization", token("alice", json!({})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("books for alice").await;
    // A bad token is still refused.
    let resp = cli
        .get("/greet")
        .header("Authorization", "Bearer not.a.token")
        .send()
        .await;
    assert!(resp.0.status().is_client_error());
}

#[tokio::test]
async fn implicit_refresh_on_a_generic_route() {
    let mut cfg = config();
    cfg.implicit_refresh_window = Some(30);
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(app(Ran::default()).with(jwt.clone()));
    let soon = jwt
        .create_access_token("alice")
        .expires(Expiry::Seconds(20))
        .await
        .unwrap();
    let resp = cli
        .get("/cookie")
        .header("Cookie", format!("access_token_cookie={soon}"))
        .send()
        .await;
    resp.assert_status_is_ok();
    let cookies: Vec<String> = resp
        .0
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("access_token_cookie=") && !c.contains(&soon)),
        "a new access cookie: {cookies:?}"
    );
    resp.assert_text("records").await;
}
