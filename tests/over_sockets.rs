//! The tests over real sockets: the examples started as processes (`examples_over_socket`) and
//! a real browser against them (`browser`, ignored unless Chromium is installed and the tests run
//! with `-- --include-ignored`).

mod support;

mod browser;
mod examples_over_socket;
