//! A minimal HTTP/1.1 keep-alive client for the load examples (one request at a time on one
//! connection; enough for Poem's answers, which always carry a content-length).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// An environment setting parsed as `T`, or `default` when unset or unparsable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the examples read from an answer.
pub struct Answer {
    pub status: u16,
    /// The `x-instance` header (which app instance answered, behind the balancer).
    pub instance: Option<String>,
    pub body: String,
}

/// One keep-alive connection.
pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
}

impl Conn {
    pub fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            line: String::new(),
        })
    }

    /// Sends `method path` with the bearer token (if any) and reads the whole answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
    ) -> std::io::Result<Answer> {
        let auth = bearer
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        self.send(method, path, &auth)
    }

    /// Sends `method path` with `headers` (each line ending in CRLF) and reads the whole answer.
    pub fn send(&mut self, method: &str, path: &str, headers: &str) -> std::io::Result<Answer> {
        write!(
            self.writer,
            "{method} {path} HTTP/1.1\r\nHost: load\r\n{headers}Content-Length: 0\r\n\r\n"
        )?;
        self.line.clear();
        self.reader.read_line(&mut self.line)?;
        let status = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let (mut length, mut instance) = (0usize, None);
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if self.line == "\r\n" {
                break;
            }
            if let Some((name, value)) = self.line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("x-instance") {
                    instance = Some(value.trim().to_string());
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Answer {
            status,
            instance,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
