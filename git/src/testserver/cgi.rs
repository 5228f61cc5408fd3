//! One request: route, authenticate, then run `git http-backend` as CGI.

use std::convert::Infallible;
use std::process::Stdio;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::io::AsyncWriteExt;

use super::{Fault, State};

type Body = BoxBody<Bytes, std::io::Error>;

/// Git smart-HTTP endpoints below a repository path.
const SERVICES: &[&str] = &[
    "/info/refs",
    "/git-upload-pack",
    "/git-receive-pack",
    "/HEAD",
    "/objects/",
];

fn full(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_string()))
            .map_err(|e| match e {})
            .boxed(),
    );
    *r.status_mut() = status;
    r
}

fn unauthorized() -> Response<Body> {
    let mut r = full(StatusCode::UNAUTHORIZED, "authentication required\n");
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"porch-git\""),
    );
    r
}

/// A body that yields `data` and then fails, so hyper drops the connection.
fn broken_body(data: Bytes) -> Body {
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(data)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault",
        )),
    ];
    StreamBody::new(futures::stream::iter(frames)).boxed()
}

/// Splits `/a/b/name.git/info/refs` into (`a/b/name`, `/info/refs`).
pub(crate) fn route(path: &str) -> Option<(String, String)> {
    let idx = SERVICES.iter().filter_map(|s| path.find(s)).min()?;
    let repo = path[..idx].trim_start_matches('/').trim_end_matches(".git");
    if repo.is_empty() {
        return None;
    }
    Some((repo.to_string(), path[idx..].to_string()))
}

/// The authenticated user, if the credentials are valid.
fn authenticate(state: &State, req: &Request<Incoming>) -> Option<String> {
    let value = req
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    if let Some(b64) = value.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (user, pass) = raw.split_once(':')?;
        return state
            .options
            .users
            .iter()
            .any(|(u, p)| u == user && p == pass)
            .then(|| user.to_string());
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        return state
            .options
            .tokens
            .iter()
            .any(|t| t == token.trim())
            .then(|| "token".to_string());
    }
    None
}

pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    Ok(match handle_inner(state, req).await {
        Ok(r) => r,
        Err(e) => full(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
    })
}

async fn handle_inner(
    state: Arc<State>,
    req: Request<Incoming>,
) -> std::io::Result<Response<Body>> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let Some((repo, rest)) = route(&path) else {
        return Ok(full(StatusCode::NOT_FOUND, "not a git URL\n"));
    };
    if super::repos::validate_name(&repo).is_err() {
        return Ok(full(StatusCode::NOT_FOUND, "not found\n"));
    }
    let dir = super::repos::repo_dir(&state.root, &repo);
    if !dir.join("HEAD").exists() {
        return Ok(full(StatusCode::NOT_FOUND, "repository not found\n"));
    }
    let repo_state = state.repo_state(&repo);
    let anonymous_read = repo_state
        .as_ref()
        .map(|s| s.options.anonymous_read)
        .unwrap_or(state.options.anonymous_read_default);
    let fault = repo_state.and_then(|s| s.fault);
    let is_write = rest == "/git-receive-pack" || query.contains("service=git-receive-pack");
    let user = authenticate(&state, &req);
    let has_auth_header = req.headers().contains_key(http::header::AUTHORIZATION);
    if (is_write || !anonymous_read || has_auth_header) && user.is_none() {
        // Wrong credentials are refused even where anonymous read is allowed.
        return Ok(unauthorized());
    }
    if fault == Some(Fault::ServerError) {
        return Ok(full(StatusCode::INTERNAL_SERVER_ERROR, "injected fault\n"));
    }

    let method = req.method().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let content_encoding = header("content-encoding");
    let git_protocol = header("git-protocol");
    if fault == Some(Fault::RefuseProtocolV0)
        && rest == "/info/refs"
        && query.contains("service=git-upload-pack")
        && git_protocol.is_none()
    {
        return Ok(full(StatusCode::FORBIDDEN, "protocol v2 only\n"));
    }
    // Collecting handles chunked request bodies; http-backend wants a length.
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("reading request body: {e}")))?
        .to_bytes();

    if fault == Some(Fault::AbortPush) && rest == "/git-receive-pack" {
        return Ok(Response::new(broken_body(Bytes::new())));
    }

    let mut cmd = tokio::process::Command::new(&state.options.git);
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &state.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.receivepack")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{repo}.git{rest}"))
        .env("QUERY_STRING", &query)
        .env("REQUEST_METHOD", &method)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(u) = &user {
        cmd.env("REMOTE_USER", u);
    }
    if let Some(ct) = &content_type {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(ce) = &content_encoding {
        cmd.env("HTTP_CONTENT_ENCODING", ce);
    }
    if let Some(p) = &git_protocol {
        cmd.env("GIT_PROTOCOL", p).env("HTTP_GIT_PROTOCOL", p);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take();
    let writer = async move {
        if let Some(pipe) = stdin.as_mut() {
            // http-backend may stop reading early; its exit status tells the story.
            let _ = pipe.write_all(&body).await;
        }
        drop(stdin);
    };
    let (_, out) = tokio::join!(writer, child.wait_with_output());
    let out = out?;
    if !out.stderr.is_empty() {
        tracing::debug!(repo = %repo, stderr = %String::from_utf8_lossy(&out.stderr), "http-backend stderr");
    }
    let (status, headers, payload) = parse_cgi(&out.stdout)?;
    let payload = Bytes::copy_from_slice(payload);
    let body = match fault {
        // Only responses longer than n (packs, not ref listings) are cut.
        Some(Fault::AbortFetchAfter(n)) if rest == "/git-upload-pack" && payload.len() > n => {
            broken_body(payload.slice(..n))
        }
        Some(Fault::DropPushResponse) if rest == "/git-receive-pack" => broken_body(Bytes::new()),
        _ => Full::new(payload).map_err(|e| match e {}).boxed(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::try_from(k),
            http::HeaderValue::try_from(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    Ok(resp)
}

/// A parsed CGI response: status, headers and body.
pub(crate) type CgiResponse<'a> = (StatusCode, Vec<(String, String)>, &'a [u8]);

/// Parses CGI output: headers, a blank line, the body.
pub(crate) fn parse_cgi(out: &[u8]) -> std::io::Result<CgiResponse<'_>> {
    let (head_end, body_start) = if let Some(i) = find(out, b"\r\n\r\n") {
        (i, i + 4)
    } else if let Some(i) = find(out, b"\n\n") {
        (i, i + 2)
    } else {
        return Err(std::io::Error::other("http-backend produced no CGI header"));
    };
    let head = String::from_utf8_lossy(&out[..head_end]);
    let mut status = StatusCode::OK;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            let code = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(500);
            status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    Ok((status, headers, &out[body_start..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_and_without_dot_git() {
        assert_eq!(
            route("/nephio/test-blueprints.git/info/refs"),
            Some(("nephio/test-blueprints".into(), "/info/refs".into()))
        );
        assert_eq!(
            route("/repo/git-upload-pack"),
            Some(("repo".into(), "/git-upload-pack".into()))
        );
        assert_eq!(route("/info/refs"), None);
        assert_eq!(route("/x/y"), None);
    }

    #[test]
    fn cgi_output_is_parsed() {
        let out = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope";
        let (s, h, b) = parse_cgi(out).unwrap();
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            h,
            vec![("Content-Type".to_string(), "text/plain".to_string())]
        );
        assert_eq!(b, b"nope");
        assert!(parse_cgi(b"garbage").is_err());
    }
}
