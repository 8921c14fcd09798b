//! The tests over real sockets: the examples started as processes (`examples_over_socket`) and
//! a real browser against them (`browser`, ignored unless Chromium is installed and the tests run
//! with `-- --include-ignored`), and `examples/resource_server.rs` against a real identity provider
//! (`resource_server_example`, ignored unless node and the harness's packages are installed).

mod support;

mod browser;
mod dpop_example;
mod examples_over_socket;
mod resource_server_example;
