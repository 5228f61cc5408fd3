//! Repository URLs in messages: name the repository, never its credentials.

/// The URL with any `user:password@` (or `token@`) part removed, so it can appear in a
/// status message or a log. Text that is not a URL is returned unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}{}{}",
            &url[..authority_start],
            &authority[at + 1..],
            &rest[authority_end..]
        ),
        None => url.to_string(),
    }
}

/// Remove the credentials of every URL in `message` (a git error text may echo the URL it
/// was given, in any form): the repository URL `url` verbatim, and any other
/// `scheme://user:secret@host` found in the text.
pub fn redact_message(message: &str, url: &str) -> String {
    let clean = redact_url(url);
    let message = if clean == url {
        message.to_string()
    } else {
        message.replace(url, &clean)
    };
    redact_urls_in(&message)
}

/// Strip userinfo from every `scheme://...@host` in free text.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo_only() {
        assert_eq!(
            redact_url("https://bob:s3cret@example.com/org/repo.git"),
            "https://example.com/org/repo.git"
        );
        assert_eq!(
            redact_url("http://token@127.0.0.1:8080/r?x=a@b"),
            "http://127.0.0.1:8080/r?x=a@b"
        );
        assert_eq!(
            redact_url("https://example.com/org/repo.git"),
            "https://example.com/org/repo.git"
        );
        assert_eq!(
            redact_url("git@github.com:org/repo"),
            "git@github.com:org/repo"
        );
    }

    #[test]
    fn message_never_keeps_the_password() {
        let url = "https://bob:s3cret@example.com/repo";
        let msg = redact_message(&format!("fetch {url}: connection refused"), url);
        assert_eq!(msg, "fetch https://example.com/repo: connection refused");
        assert!(!msg.contains("s3cret"));
        // Echoed differently (e.g. with a trailing .git) it is still caught.
        let msg = redact_message(
            "unable to access 'https://bob:s3cret@example.com/repo.git/': 403",
            url,
        );
        assert_eq!(msg, "unable to access 'https://example.com/repo.git/': 403");
        assert_eq!(redact_urls_in("no urls here"), "no urls here");
        assert_eq!(
            redact_urls_in("a http://x@h b https://h2/p"),
            "a http://h b https://h2/p"
        );
    }
}
