//! Serving an app in-process on a free loopback port, for real-socket tests of the library.

use poem::listener::TcpAcceptor;
use poem::{Endpoint, Server};

/// Serves `app` on `127.0.0.1:<free port>` until the test's runtime stops; returns
/// `http://127.0.0.1:<port>`.
pub fn serve(app: impl Endpoint + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("local addr").port();
    let acceptor = TcpAcceptor::from_std(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    format!("http://127.0.0.1:{port}")
}
