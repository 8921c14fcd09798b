//! The policy macros work under another name: each finds `#[handler]` below itself, whatever
//! the user calls it.
#![deny(unused_imports)]

use jwt_runtime::{admin_required as admin_only, jwt_required as auth, Identity};
use poem::handler;

#[auth(fresh)]
#[handler]
async fn me(identity: Identity) -> String {
    identity.to_string()
}

#[admin_only]
#[poem::handler]
async fn admin() -> &'static str {
    "admin"
}

fn main() {
    let _ = (me, admin);
}
