//! Line comments keyed by the path of the node they follow.

use std::collections::HashMap;

use granit_parser::{Event, Parser, Placement};

/// One step of a path into a YAML tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Line comments (`# text`, stored without `#` and trimmed) by node path.
/// A comment written after `key:` of a block collection belongs to the collection.
pub type CommentMap = HashMap<Vec<PathSeg>, String>;

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

/// Collect same-line comments of the first document in `text`.
/// Parse errors end the scan; the caller parses the data separately and reports those.
pub fn read_line_comments(text: &str) -> CommentMap {
    let mut out = CommentMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<PathSeg> = Vec::new();
    // Path of the node a following same-line comment describes.
    let mut last: Option<Vec<PathSeg>> = None;
    for next in Parser::new_from_str(text) {
        let Ok((event, _span)) = next else { break };
        match event {
            Event::Comment(body, Placement::Right) => {
                if let Some(p) = &last {
                    out.entry(p.clone())
                        .or_insert_with(|| body.trim().to_string());
                }
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { key }) = stack.last_mut()
                    && key.is_none()
                {
                    *key = Some(value.to_string());
                    let mut p = path.clone();
                    p.push(PathSeg::Key(value.to_string()));
                    last = Some(p);
                    continue;
                }
                let p = child_path(&mut stack, &path);
                last = p;
            }
            Event::Alias(_) => {
                last = child_path(&mut stack, &path);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let seq = matches!(event, Event::SequenceStart(..));
                if let Some(p) = child_path(&mut stack, &path) {
                    path = p;
                }
                last = Some(path.clone());
                stack.push(if seq {
                    Frame::Seq { next: 0 }
                } else {
                    Frame::Map { key: None }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                last = Some(path.clone());
                if !stack.is_empty() {
                    path.pop();
                }
            }
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    out
}

/// The path of the next value node under the top frame, advancing the frame.
fn child_path(stack: &mut [Frame], path: &[PathSeg]) -> Option<Vec<PathSeg>> {
    let seg = match stack.last_mut()? {
        Frame::Map { key } => PathSeg::Key(key.take()?),
        Frame::Seq { next } => {
            *next += 1;
            PathSeg::Index(*next - 1)
        }
    };
    let mut p = path.to_vec();
    p.push(seg);
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[&str]) -> Vec<PathSeg> {
        segs.iter()
            .map(|s| match s.parse::<usize>() {
                Ok(i) => PathSeg::Index(i),
                Err(_) => PathSeg::Key((*s).to_string()),
            })
            .collect()
    }

    #[test]
    fn scalar_and_collection_comments() {
        let y = "items:\n- kind: Deployment # a kind\n  spec:\n    image: nginx:1.2 # kpt-set: ${image}:${tag}\n    args: # kpt-set: ${args}\n    - a\n    - b\n    flow: [x, y] # kpt-set: ${flow}\n    after: z\n";
        let c = read_line_comments(y);
        assert_eq!(
            c.get(&p(&["items", "0", "kind"])).map(String::as_str),
            Some("a kind")
        );
        assert_eq!(
            c.get(&p(&["items", "0", "spec", "image"]))
                .map(String::as_str),
            Some("kpt-set: ${image}:${tag}")
        );
        assert_eq!(
            c.get(&p(&["items", "0", "spec", "args"]))
                .map(String::as_str),
            Some("kpt-set: ${args}")
        );
        assert_eq!(
            c.get(&p(&["items", "0", "spec", "flow"]))
                .map(String::as_str),
            Some("kpt-set: ${flow}")
        );
        assert!(!c.contains_key(&p(&["items", "0", "spec", "after"])));
    }
}
