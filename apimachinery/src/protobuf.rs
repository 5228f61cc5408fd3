//! Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) for
//! the few built-in kinds a standalone server serves, into their JSON form. kubectl's typed
//! commands (`kubectl create namespace|configmap|secret|serviceaccount`) send protobuf bodies.
//! Responses are always JSON (clients list JSON in `Accept` as well).

use serde_json::{Map, Value, json};

/// A body that is not valid Kubernetes protobuf for a known kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protobuf: {0}")]
pub struct ProtobufError(pub String);

const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Time,
    MicroTime,
    MapStr,
    MapBytes,
    Msg(&'static [F]),
}

/// (field number, JSON name, kind, repeated)
type F = (u64, &'static str, Kind, bool);

const TIME: Kind = Kind::Time;

const OWNER_REF: &[F] = &[
    (1, "kind", Kind::Str, false),
    (3, "name", Kind::Str, false),
    (4, "uid", Kind::Str, false),
    (5, "apiVersion", Kind::Str, false),
    (6, "controller", Kind::Bool, false),
    (7, "blockOwnerDeletion", Kind::Bool, false),
];

const OBJECT_META: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "generateName", Kind::Str, false),
    (3, "namespace", Kind::Str, false),
    (5, "uid", Kind::Str, false),
    (6, "resourceVersion", Kind::Str, false),
    (7, "generation", Kind::Int, false),
    (8, "creationTimestamp", TIME, false),
    (9, "deletionTimestamp", TIME, false),
    (10, "deletionGracePeriodSeconds", Kind::Int, false),
    (11, "labels", Kind::MapStr, false),
    (12, "annotations", Kind::MapStr, false),
    (13, "ownerReferences", Kind::Msg(OWNER_REF), true),
    (14, "finalizers", Kind::Str, true),
];

const CONFIG_MAP: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "data", Kind::MapStr, false),
    (3, "binaryData", Kind::MapBytes, false),
    (4, "immutable", Kind::Bool, false),
];

const SECRET: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "data", Kind::MapBytes, false),
    (3, "type", Kind::Str, false),
    (4, "stringData", Kind::MapStr, false),
    (5, "immutable", Kind::Bool, false),
];

const NAMESPACE_SPEC: &[F] = &[(1, "finalizers", Kind::Str, true)];
const NAMESPACE_STATUS: &[F] = &[(1, "phase", Kind::Str, false)];
const NAMESPACE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "spec", Kind::Msg(NAMESPACE_SPEC), false),
    (3, "status", Kind::Msg(NAMESPACE_STATUS), false),
];

const OBJECT_REF: &[F] = &[
    (1, "kind", Kind::Str, false),
    (2, "namespace", Kind::Str, false),
    (3, "name", Kind::Str, false),
    (4, "uid", Kind::Str, false),
    (5, "apiVersion", Kind::Str, false),
    (6, "resourceVersion", Kind::Str, false),
    (7, "fieldPath", Kind::Str, false),
];
const LOCAL_REF: &[F] = &[(1, "name", Kind::Str, false)];
const SERVICE_ACCOUNT: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "secrets", Kind::Msg(OBJECT_REF), true),
    (3, "imagePullSecrets", Kind::Msg(LOCAL_REF), true),
    (4, "automountServiceAccountToken", Kind::Bool, false),
];

const LEASE_SPEC: &[F] = &[
    (1, "holderIdentity", Kind::Str, false),
    (2, "leaseDurationSeconds", Kind::Int, false),
    (3, "acquireTime", Kind::MicroTime, false),
    (4, "renewTime", Kind::MicroTime, false),
    (5, "leaseTransitions", Kind::Int, false),
];
const LEASE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "spec", Kind::Msg(LEASE_SPEC), false),
];

const TYPE_META: &[F] = &[
    (1, "apiVersion", Kind::Str, false),
    (2, "kind", Kind::Str, false),
];

fn schema_for(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("coordination.k8s.io/v1", "Lease") => LEASE,
        _ => return None,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &str) -> ProtobufError {
        ProtobufError(format!("{what} at byte {}", self.pos))
    }
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| self.err("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtobufError> {
        let n = usize::try_from(self.varint()?).map_err(|_| self.err("length overflow"))?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.err("truncated field"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn skip(&mut self, wire: u64) -> Result<(), ProtobufError> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => Err(self.err("unsupported wire type")),
        }
    }
    fn advance(&mut self, n: usize) -> Result<(), ProtobufError> {
        if self.pos + n > self.buf.len() {
            return Err(self.err("truncated field"));
        }
        self.pos += n;
        Ok(())
    }
}

fn utf8(b: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(b.to_vec()).map_err(|_| ProtobufError("invalid UTF-8 in string field".into()))
}

fn b64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn time(b: &[u8], micro: bool) -> Result<Value, ProtobufError> {
    let mut r = Reader { buf: b, pos: 0 };
    let (mut secs, mut nanos) = (0i64, 0i64);
    while r.pos < b.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 0) => secs = r.varint()? as i64,
            (2, 0) => nanos = r.varint()? as i64,
            (_, w) => r.skip(w)?,
        }
    }
    let ts = jiff::Timestamp::new(
        secs,
        if micro {
            (nanos / 1000 * 1000) as i32
        } else {
            0
        },
    )
    .map_err(|e| ProtobufError(e.to_string()))?;
    let fmt = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(ts.strftime(fmt).to_string()))
}

fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ProtobufError> {
    let mut r = Reader { buf: b, pos: 0 };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while r.pos < b.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 2) => k = utf8(r.bytes()?)?,
            (2, 2) => {
                let raw = r.bytes()?;
                v = Value::String(if bytes_value { b64(raw) } else { utf8(raw)? });
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok((k, v))
}

fn message(b: &[u8], schema: &[F]) -> Result<Map<String, Value>, ProtobufError> {
    let mut r = Reader { buf: b, pos: 0 };
    let mut out = Map::new();
    while r.pos < b.len() {
        let key = r.varint()?;
        let (num, wire) = (key >> 3, key & 7);
        let Some(&(_, name, kind, repeated)) = schema.iter().find(|f| f.0 == num) else {
            r.skip(wire)?;
            continue;
        };
        let value = match (kind, wire) {
            (Kind::Str, 2) => Value::String(utf8(r.bytes()?)?),
            (Kind::Int, 0) => json!(r.varint()? as i64),
            (Kind::Bool, 0) => Value::Bool(r.varint()? != 0),
            (Kind::Time, 2) => time(r.bytes()?, false)?,
            (Kind::MicroTime, 2) => time(r.bytes()?, true)?,
            (Kind::MapStr | Kind::MapBytes, 2) => {
                let (k, v) = map_entry(r.bytes()?, matches!(kind, Kind::MapBytes))?;
                if let Value::Object(m) =
                    out.entry(name).or_insert_with(|| Value::Object(Map::new()))
                {
                    m.insert(k, v);
                }
                continue;
            }
            (Kind::Msg(s), 2) => Value::Object(message(r.bytes()?, s)?),
            _ => return Err(r.err(&format!("unexpected wire type {wire} for field {name}"))),
        };
        if repeated {
            if let Value::Array(a) = out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                a.push(value);
            }
        } else {
            out.insert(name.to_string(), value);
        }
    }
    Ok(out)
}

/// Decode a `k8s\0`-prefixed `runtime.Unknown` envelope into the object's JSON.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| ProtobufError("missing the k8s protobuf magic prefix".into()))?;
    let mut r = Reader { buf: rest, pos: 0 };
    let mut type_meta = Map::new();
    let mut raw: &[u8] = &[];
    while r.pos < rest.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 2) => type_meta = message(r.bytes()?, TYPE_META)?,
            (2, 2) => raw = r.bytes()?,
            (_, w) => r.skip(w)?,
        }
    }
    let api_version = type_meta
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = type_meta
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let schema = schema_for(&api_version, &kind).ok_or_else(|| {
        ProtobufError(format!(
            "no protobuf decoding for {api_version}, Kind={kind}"
        ))
    })?;
    let mut obj = message(raw, schema)?;
    obj.insert("apiVersion".into(), Value::String(api_version));
    obj.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [
            field(1, b"cm1"),
            field(11, &[field(1, b"app"), field(2, b"web")].concat()),
            field(14, b"f1"),
        ]
        .concat();
        let cm = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
            field(3, &[field(1, b"bin"), field(2, b"hi")].concat()),
        ]
        .concat();
        let tm = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &tm), field(2, &cm)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1","labels":{"app":"web"},"finalizers":["f1"]},"data":{"k":"v"},"binaryData":{"bin":"aGk="}})
        );
    }

    #[test]
    fn rejects_garbage_and_unknown_kinds() {
        assert!(decode(b"{}").is_err());
        let tm = [field(1, b"v1"), field(2, b"Pod")].concat();
        assert!(decode(&[MAGIC.to_vec(), field(1, &tm)].concat()).is_err());
        assert!(decode(&[MAGIC.to_vec(), vec![0x0a, 0x05, 0x01]].concat()).is_err());
    }
}
