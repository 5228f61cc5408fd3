//! The protocol v0 ref advertisement (`GET info/refs?service=git-upload-pack`):
//! one request that tells whether the remote's refs equal the cache's, so a
//! no-change refresh needs neither gix's handshake nor a negotiation. Pure parsing.

use std::collections::BTreeMap;

use gix::ObjectId;

/// Content type of a smart-HTTP upload-pack advertisement.
pub(crate) const CONTENT_TYPE: &str = "application/x-git-upload-pack-advertisement";

/// Splits a buffer into pkt-lines; `None` for a flush packet. `None` overall
/// when the framing is broken.
fn pkt_lines(mut buf: &[u8]) -> Option<Vec<Option<&[u8]>>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = usize::from_str_radix(std::str::from_utf8(buf.get(..4)?).ok()?, 16).ok()?;
        match len {
            0 => {
                out.push(None);
                buf = &buf[4..];
            }
            // 0001 (delim) and 0002 (response end) only exist in protocol v2.
            1..=3 => return None,
            _ => {
                out.push(Some(buf.get(4..len)?));
                buf = &buf[len..];
            }
        }
    }
    Some(out)
}

/// Parses a v0 advertisement into `ref name → id` (peeled `^{}` lines and the
/// `capabilities^{}` placeholder of an empty repository left out). `None` when
/// the body is not a v0 upload-pack advertisement (the caller then falls back
/// to a full fetch, which reports errors properly).
pub(crate) fn parse(body: &[u8]) -> Option<BTreeMap<String, ObjectId>> {
    let lines = pkt_lines(body)?;
    let mut iter = lines.into_iter();
    // Smart HTTP starts with `# service=git-upload-pack` and a flush.
    let first = iter.next()??;
    if trim_nl(first) != b"# service=git-upload-pack" {
        return None;
    }
    if iter.next()?.is_some() {
        return None;
    }
    let mut refs = BTreeMap::new();
    let mut ended = false;
    for line in iter {
        let Some(line) = line else {
            ended = true;
            break;
        };
        let line = trim_nl(line);
        // Capabilities follow a NUL on the first ref line.
        let line = line.split(|b| *b == 0).next()?;
        let line = std::str::from_utf8(line).ok()?;
        if line.starts_with("version ") || line.starts_with("shallow ") {
            return None;
        }
        let (id, name) = line.split_once(' ')?;
        let id = ObjectId::from_hex(id.as_bytes()).ok()?;
        if name.ends_with("^{}") {
            continue;
        }
        refs.insert(name.to_string(), id);
    }
    ended.then_some(refs)
}

fn trim_nl(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(s: &str) -> String {
        format!("{:04x}{s}", s.len() + 4)
    }

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn parses_refs_and_skips_peeled_lines() {
        let body = format!(
            "{}0000{}{}{}{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!(
                "{A} HEAD\0multi_ack symref=HEAD:refs/heads/main agent=git/2\n"
            )),
            pkt(&format!("{A} refs/heads/main\n")),
            pkt(&format!("{B} refs/tags/p/v1\n")),
            pkt(&format!("{A} refs/tags/p/v1^{{}}\n")),
        );
        let refs = parse(body.as_bytes()).unwrap();
        assert_eq!(refs.len(), 3);
        assert_eq!(refs["refs/tags/p/v1"].to_string(), B);
        assert_eq!(refs["refs/heads/main"].to_string(), A);
    }

    #[test]
    fn empty_repository_has_no_refs() {
        let zero = "0".repeat(40);
        let body = format!(
            "{}0000{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{zero} capabilities^{{}}\0agent=git/2\n")),
        );
        assert_eq!(parse(body.as_bytes()).unwrap().len(), 0);
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(parse(b"").is_none());
        assert!(parse(b"not a pkt line").is_none());
        // Protocol v2 capability advertisement.
        let v2 = format!(
            "{}0000{}{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt("version 2\n"),
            pkt("ls-refs\n")
        );
        assert!(parse(v2.as_bytes()).is_none());
        // Truncated (no final flush).
        let cut = format!(
            "{}0000{}",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{A} refs/heads/main\n"))
        );
        assert!(parse(cut.as_bytes()).is_none());
    }
}
