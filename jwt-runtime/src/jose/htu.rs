//! The `htu` of a DPoP proof compared as RFC 9449 section 4.3 says: both URLs without query and
//! fragment, after the syntax- and scheme-based normalisation of RFC 3986 sections 6.2.2 and
//! 6.2.3 (scheme and host in lowercase, the default port dropped, an empty path as `/`,
//! percent-encodings in uppercase with unreserved characters decoded, dot segments removed).

/// `url` normalised for comparison, or `None` when it is not an absolute `http`/`https` URL
/// (or holds user information, or a malformed percent-encoding).
pub(crate) fn normalize(url: &str) -> Option<String> {
    let url = url.split('#').next().unwrap_or_default();
    let url = url.split('?').next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port: u16 = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if host.is_empty() {
        return None;
    }
    let host = percent_normalized(&host.to_ascii_lowercase())?;
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = port.filter(|p| *p != default_port) {
        out.push_str(&format!(":{port}"));
    }
    let path = percent_normalized(path)?;
    let path = remove_dot_segments(&path);
    if path.is_empty() {
        out.push('/');
    } else {
        out.push_str(&path);
    }
    Some(out)
}

/// `host[:port]` (a bracketed IPv6 literal included): the host and the port (`None` when there
/// is none or it is empty). `None` overall for a port that is not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        let port = if after.is_empty() {
            ""
        } else {
            after.strip_prefix(':')?
        };
        (&authority[..end + 2], port)
    } else {
        authority.rsplit_once(':').unwrap_or((authority, ""))
    };
    if port.is_empty() {
        return Some((host, None));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, Some(port.parse().ok()?)))
}

/// Percent-encodings in uppercase, those of unreserved characters decoded (RFC 3986
/// section 6.2.2.1-2). `None` for a `%` not followed by two hex digits.
fn percent_normalized(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let c = s[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

/// RFC 3986 section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out: Vec<&str> = Vec::new();
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest;
            continue;
        }
        if input.starts_with("/./") {
            input = &input[2..];
            continue;
        }
        if input == "/." {
            input = "/";
            continue;
        }
        if input.starts_with("/../") {
            input = &input[3..];
            out.pop();
            continue;
        }
        if input == "/.." {
            input = "/";
            out.pop();
            continue;
        }
        if input == "." || input == ".." {
            break;
        }
        // The first segment, with its leading slash.
        let start = usize::from(input.starts_with('/'));
        let end = input[start..].find('/').map_or(input.len(), |i| i + start);
        out.push(&input[..end]);
        input = &input[end..];
    }
    out.concat()
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn urls_compare_after_normalisation() {
        let same = [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.Example.COM:443/token",
                "https://server.example.com/token",
            ),
            ("http://localhost:80/a", "http://localhost/a"),
            ("http://localhost:3000/a?x=1#f", "http://localhost:3000/a"),
            ("https://h.example", "https://h.example/"),
            (
                "https://h.example/%7euser/%2f%41",
                "https://h.example/~user/%2FA",
            ),
            ("https://h.example/a/./b/../c", "https://h.example/a/c"),
            ("http://[::1]:8080/x", "http://[::1]:8080/x"),
            ("http://[::1]:80/x", "http://[::1]/x"),
        ];
        for (url, expected) in same {
            assert_eq!(normalize(url).as_deref(), Some(expected), "{url}");
        }
        assert_ne!(
            normalize("https://h.example/A"),
            normalize("https://h.example/a")
        );
        assert_ne!(
            normalize("https://h.example:8443/"),
            normalize("https://h.example/")
        );
        assert_ne!(
            normalize("http://h.example/"),
            normalize("https://h.example/")
        );
        for bad in [
            "/relative",
            "ftp://h.example/",
            "https://user@h.example/",
            "https://h.example/%zz",
            "https://h.example/%4",
            "https://h.example:x/",
            "https://",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
