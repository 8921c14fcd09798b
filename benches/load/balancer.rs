//! A tiny loopback load balancer for the scale-out run (`benches/load/scale_out.sh`): each
//! accepted connection goes to the next backend in turn (round robin per connection) and bytes
//! are copied both ways until either side closes.
//!
//! ```text
//! balancer LISTEN_ADDR BACKEND_ADDR...
//! ```

use std::io::copy;
use std::net::{Shutdown, TcpListener, TcpStream};

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let backends: Vec<String> = args.collect();
    if backends.is_empty() {
        eprintln!("usage: balancer LISTEN_ADDR BACKEND_ADDR...");
        std::process::exit(2);
    }
    let listener = TcpListener::bind(&listen)?;
    for (n, client) in listener.incoming().enumerate() {
        let Ok(client) = client else { continue };
        let Ok(backend) = TcpStream::connect(&backends[n % backends.len()]) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = backend.set_nodelay(true);
        let (Ok(client2), Ok(backend2)) = (client.try_clone(), backend.try_clone()) else {
            continue;
        };
        std::thread::spawn(move || pipe(client, backend));
        std::thread::spawn(move || pipe(backend2, client2));
    }
    Ok(())
}
