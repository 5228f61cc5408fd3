//! The generic resource handlers: create, get, list, update, patch, delete, deletecollection,
//! and the status/finalize subresources, for built-in kinds and custom resources alike.

use super::response::{ApiError, list_response, object_response, status_error};
use super::{App, Query};
use crate::builtin::{self, BuiltinKind};
use crate::registry::{ResourceInfo, resource_from_crd};
use crate::store::{
    Action, GroupResource, NsName, Precondition, StoreError, StoredObject, WriteOp, WriteOutcome,
};
use axum::response::Response;
use base64::Engine;
use http::{HeaderMap, HeaderValue, StatusCode};
use porch_apimachinery::fields::FieldSelector;
use porch_apimachinery::labels::LabelSelector;
use porch_apimachinery::negotiate::{
    LIST_REPRESENTATIONS, OBJECT_REPRESENTATIONS, Representation, negotiate,
};
use porch_apimachinery::patch::{self, ListStrategy, PatchType};
use porch_apimachinery::status::{FieldError, StatusError, success_status};
use porch_apimachinery::table::IncludeObject;
use porch_apimachinery::validation;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// One request against a resource.
pub struct Ctx {
    pub app: App,
    pub info: Arc<ResourceInfo>,
    pub version: String,
    pub namespace: Option<String>,
    pub query: Query,
    pub headers: HeaderMap,
}

/// How unknown fields are treated (`?fieldValidation=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Where a write came from, for the parts of the object it may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Main,
    Status,
    Finalize,
}

const SMP_UNSUPPORTED_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

impl Ctx {
    fn gr(&self) -> GroupResource {
        self.info.gr()
    }
    fn ns(&self) -> String {
        self.namespace.clone().unwrap_or_default()
    }
    fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }
    fn dry_run(&self) -> bool {
        self.q("dryRun").is_some_and(|v| v == "All")
    }
    fn field_validation(&self) -> Result<FieldValidation, StatusError> {
        match self.q("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(StatusError::bad_request(format!(
                "fieldValidation parameter unsupported: {other:?}. Supported values: Ignore, Strict, Warn"
            ))),
        }
    }
    fn accept(&self) -> Option<&str> {
        self.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
    }
    fn rep(&self, offered: &[Representation]) -> Result<Representation, StatusError> {
        negotiate(self.accept(), offered).ok_or_else(StatusError::not_acceptable)
    }
    pub(crate) fn include(&self) -> IncludeObject {
        IncludeObject::parse(self.q("includeObject"))
    }
    fn not_found(&self, name: &str) -> StatusError {
        StatusError::not_found(&self.info.group, &self.info.resource, name)
    }
    fn conflict(&self, name: &str) -> StatusError {
        StatusError::conflict_modified(&self.info.group, &self.info.resource, name)
    }
    fn store_err(&self, name: &str, e: StoreError) -> StatusError {
        match e {
            StoreError::NotFound => self.not_found(name),
            StoreError::AlreadyExists => {
                StatusError::already_exists(&self.info.group, &self.info.resource, name)
            }
            StoreError::Conflict => self.conflict(name),
            StoreError::Backend(m) => StatusError::internal(m),
        }
    }
    fn api_version(&self) -> String {
        self.info.api_version(&self.version)
    }
}

/// `Content-Type`-aware body decoding (JSON or YAML) into an object.
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, StatusError> {
    let ct = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let v: Value = match essence {
        "application/yaml" | "application/apply-patch+yaml" => serde_saphyr::from_slice(body)
            .map_err(|e| StatusError::bad_request(format!("error converting YAML to JSON: {e}")))?,
        "application/json" | "" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            StatusError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        "application/vnd.kubernetes.protobuf" => porch_apimachinery::protobuf::decode(body)
            .map_err(|e| StatusError::bad_request(e.to_string()))?,
        other => return Err(StatusError::unsupported_media_type(other)),
    };
    if !v.is_object() {
        return Err(StatusError::bad_request(format!(
            "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            porch_apimachinery::status::json_type_name(&v)
        )));
    }
    Ok(v)
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    ensure_object(
        ensure_object(obj)
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new())),
    )
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Check `apiVersion`/`kind` of a body against the endpoint.
fn check_gvk(ctx: &Ctx, obj: &Value) -> Result<(), StatusError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.is_empty() {
        return Err(StatusError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(&obj.to_string(), 200)
        )));
    }
    if api_version.is_empty() {
        return Err(StatusError::bad_request(format!(
            "Object 'apiVersion' is missing in '{}'",
            truncate(&obj.to_string(), 200)
        )));
    }
    let want = ctx.api_version();
    if api_version != want {
        return Err(StatusError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    if kind != ctx.info.kind {
        return Err(StatusError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            ctx.info.kind
        )));
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn validate_metadata(ctx: &Ctx, obj: &Value, errs: &mut Vec<FieldError>) {
    let name = meta_str(obj, "name").unwrap_or_default();
    let name_errs = if ctx.info.builtin == Some(BuiltinKind::Namespace) {
        validation::is_dns1123_label(name)
    } else {
        let mut e = validation::is_valid_path_segment_name(name);
        if e.is_empty() {
            e = validation::is_dns1123_subdomain(name);
        }
        e
    };
    for m in name_errs {
        errs.push(FieldError::invalid(
            "metadata.name",
            &Value::String(name.into()),
            m,
        ));
    }
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            for m in validation::is_qualified_name(k) {
                errs.push(FieldError::invalid(
                    "metadata.labels",
                    &Value::String(k.clone()),
                    m,
                ));
            }
            let vs = v.as_str().unwrap_or_default();
            for m in validation::is_valid_label_value(vs) {
                errs.push(FieldError::invalid(
                    "metadata.labels",
                    &Value::String(vs.into()),
                    m,
                ));
            }
        }
    }
    if let Some(ann) = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for k in ann.keys() {
            for m in validation::is_qualified_name(&k.to_lowercase()) {
                errs.push(FieldError::invalid(
                    "metadata.annotations",
                    &Value::String(k.clone()),
                    m,
                ));
            }
        }
        let total: usize = ann
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if total > 256 * 1024 {
            errs.push(FieldError::too_long("metadata.annotations", 256 * 1024));
        }
    }
}

/// Typed and schema checks, defaults and pruning. Returns warnings (for `Warn`).
fn admit(
    ctx: &Ctx,
    obj: &mut Value,
    old: Option<&Value>,
    fv: FieldValidation,
) -> Result<Vec<String>, StatusError> {
    let info = &ctx.info;
    let name = meta_str(obj, "name").unwrap_or_default().to_string();
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    // Metadata is ObjectMeta for every kind.
    if let Some(meta) = obj.get("metadata") {
        let probe = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta});
        match builtin::decode_check(BuiltinKind::ConfigMap, &probe) {
            Ok(u) => unknown.extend(u),
            Err(e) => return Err(StatusError::decode(&info.kind, &ctx.version, e)),
        }
    }
    if let Some(kind) = info.builtin {
        builtin::prepare(kind, obj, false);
    }
    match info.builtin {
        Some(kind) => {
            let u = builtin::decode_check(kind, obj)
                .map_err(|e| StatusError::decode(&info.kind, &ctx.version, e))?;
            unknown.extend(u.into_iter().filter(|f| !f.starts_with("metadata.")));
        }
        None => {
            if let Some(schema) = ctx
                .info
                .version(&ctx.version)
                .and_then(|v| v.schema.as_ref())
            {
                schema.default(obj);
                unknown.extend(schema.unknown_fields(obj));
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    if !unknown.is_empty() {
        match fv {
            FieldValidation::Strict => {
                return Err(StatusError::strict_unknown_fields(
                    &info.kind,
                    &ctx.version,
                    &unknown,
                ));
            }
            FieldValidation::Warn => {
                warnings.extend(unknown.iter().map(|f| format!("unknown field {f:?}")))
            }
            FieldValidation::Ignore => {}
        }
        prune_unknown(ctx, obj);
    }
    let mut errs = Vec::new();
    validate_metadata(ctx, obj, &mut errs);
    match info.builtin {
        Some(kind) => errs.extend(builtin::validate(kind, obj, old)),
        None => {
            if let Some(schema) = ctx
                .info
                .version(&ctx.version)
                .and_then(|v| v.schema.as_ref())
            {
                errs.extend(schema.validate(obj, old));
            }
        }
    }
    if info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
        errs.extend(validate_crd(obj, old));
    }
    if !errs.is_empty() {
        return Err(StatusError::invalid(&info.group, &info.kind, &name, &errs));
    }
    Ok(warnings)
}

fn prune_unknown(ctx: &Ctx, obj: &mut Value) {
    match ctx.info.builtin {
        Some(_) => {
            // Typed kinds: drop top-level unknown keys (nested ones are rare and harmless to keep).
            let known_top = [
                "apiVersion",
                "kind",
                "metadata",
                "spec",
                "status",
                "data",
                "binaryData",
                "immutable",
                "type",
                "stringData",
                "secrets",
                "imagePullSecrets",
                "automountServiceAccountToken",
            ];
            if !matches!(
                ctx.info.builtin,
                Some(BuiltinKind::Event | BuiltinKind::EventsV1Event)
            ) && let Some(m) = obj.as_object_mut()
            {
                m.retain(|k, _| known_top.contains(&k.as_str()));
            }
        }
        None => {
            if let Some(schema) = ctx
                .info
                .version(&ctx.version)
                .and_then(|v| v.schema.as_ref())
            {
                schema.prune(obj);
            }
        }
    }
}

fn validate_crd(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = meta_str(obj, "name").unwrap_or_default();
    let group = obj
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let plural = obj
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            &Value::String(name.into()),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if !group.contains('.') {
        errs.push(FieldError::invalid(
            "spec.group",
            &Value::String(group.into()),
            "should be a domain with at least one dot",
        ));
    }
    let versions = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if versions.is_empty() {
        errs.push(FieldError::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            &json!(versions.len()),
            "must have exactly one version marked as storage version",
        ));
    }
    if let Some(old) = old {
        for (path, what) in [
            ("/spec/group", "spec.group"),
            ("/spec/scope", "spec.scope"),
            ("/spec/names/plural", "spec.names.plural"),
        ] {
            if old.pointer(path) != obj.pointer(path) {
                errs.push(FieldError::invalid(
                    what,
                    obj.pointer(path).unwrap_or(&Value::Null),
                    "field is immutable",
                ));
            }
        }
    }
    if let Err(schema_errs) = resource_from_crd(obj) {
        errs.extend(schema_errs);
    }
    errs
}

/// The status the server keeps on a CRD.
fn crd_status(obj: &Value) -> Value {
    let now = now_rfc3339();
    let names = obj.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": stored,
    })
}

/// Register (or re-register) the kind a stored CRD defines.
pub fn register_crd(app: &App, crd: &Value) {
    match resource_from_crd(crd) {
        Ok(info) => app.registry.insert(info),
        Err(errs) => tracing::warn!(
            crd = meta_str(crd, "name").unwrap_or_default(),
            ?errs,
            "stored CRD does not compile"
        ),
    }
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {:?}", w)) {
            r.headers_mut().append(http::header::WARNING, v);
        }
    }
    r
}

fn check_namespace_writable(ctx: &Ctx, name: &str) -> Result<(), StatusError> {
    if !ctx.info.namespaced {
        return Ok(());
    }
    let ns = ctx.ns();
    match ctx
        .app
        .store
        .get(&GroupResource::new("", "namespaces"), "", &ns)
    {
        None => Err(StatusError::not_found("", "namespaces", &ns)),
        Some(n) if n.head().pointer("/metadata/deletionTimestamp").is_some() => {
            Err(StatusError::forbidden(
                &ctx.info.group,
                &ctx.info.resource,
                name,
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            ))
        }
        Some(_) => Ok(()),
    }
}

/// POST on a collection.
pub async fn create(ctx: Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let rep = ctx.rep(OBJECT_REPRESENTATIONS)?;
    let fv = ctx.field_validation()?;
    let mut obj = decode_body(&ctx.headers, body)?;
    check_gvk(&ctx, &obj)?;
    create_object(&ctx, &mut obj, fv, rep).await
}

async fn create_object(
    ctx: &Ctx,
    obj: &mut Value,
    fv: FieldValidation,
    rep: Representation,
) -> Result<Response, ApiError> {
    let info = ctx.info.clone();
    {
        let meta = meta_mut(obj);
        if info.namespaced {
            let url_ns = ctx.ns();
            match meta.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() && ns != url_ns => {
                    return Err(StatusError::bad_request("the namespace of the provided object does not match the namespace sent on the request").into());
                }
                _ => {
                    meta.insert("namespace".into(), Value::String(url_ns));
                }
            }
        } else {
            meta.remove("namespace");
        }
        for k in [
            "resourceVersion",
            "uid",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            meta.remove(k);
        }
        meta.insert(
            "uid".into(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
        meta.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        if info.is_custom() || info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
            meta.insert("generation".into(), json!(1));
        }
    }
    let generate_name = meta_str(obj, "generateName")
        .unwrap_or_default()
        .to_string();
    let given_name = meta_str(obj, "name").unwrap_or_default().to_string();
    if given_name.is_empty() && generate_name.is_empty() {
        let errs = [FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )];
        return Err(StatusError::invalid(&info.group, &info.kind, "", &errs).into());
    }
    if let Some(kind) = info.builtin {
        builtin::prepare(kind, obj, true);
    }
    if info
        .version(&ctx.version)
        .is_some_and(|v| v.status_subresource)
        && info.is_custom()
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
        let status = crd_status(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
    }
    for attempt in 0..8 {
        if given_name.is_empty() {
            meta_mut(obj).insert(
                "name".into(),
                Value::String(format!("{generate_name}{}", random_suffix())),
            );
        }
        let name = meta_str(obj, "name").unwrap_or_default().to_string();
        check_namespace_writable(ctx, &name)?;
        let mut candidate = obj.clone();
        let warnings = admit(ctx, &mut candidate, None, fv)?;
        if ctx.dry_run() {
            let stored = StoredObject::unstored(0, &candidate);
            return Ok(with_warnings(
                object_response(
                    StatusCode::CREATED,
                    rep,
                    &info,
                    &ctx.version,
                    &stored,
                    ctx.include(),
                ),
                &warnings,
            ));
        }
        let op = WriteOp {
            gr: ctx.gr(),
            namespace: ctx.ns(),
            name: name.clone(),
            precondition: Precondition::MustNotExist,
            action: Action::Put(candidate),
        };
        match ctx.app.store.write(op).await {
            Ok(out) => {
                let stored = out.object().clone();
                after_write(ctx, &stored);
                return Ok(with_warnings(
                    object_response(
                        StatusCode::CREATED,
                        rep,
                        &info,
                        &ctx.version,
                        &stored,
                        ctx.include(),
                    ),
                    &warnings,
                ));
            }
            Err(StoreError::AlreadyExists) if given_name.is_empty() && attempt < 7 => continue,
            Err(e) => return Err(ctx.store_err(&name, e).into()),
        }
    }
    Err(StatusError::internal("could not generate a unique name").into())
}

/// Side effects of a committed write (CRDs register their kind; the controllers wake up).
fn after_write(ctx: &Ctx, stored: &StoredObject) {
    if ctx.info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
        register_crd(&ctx.app, &stored.value());
    }
    let obj = &stored.head();
    if obj.pointer("/metadata/ownerReferences").is_some()
        || obj.pointer("/metadata/deletionTimestamp").is_some()
    {
        ctx.app.controllers.notify_one();
    }
}

/// GET of one object.
pub async fn get(ctx: Ctx, name: &str) -> Result<Response, ApiError> {
    let rep = ctx.rep(OBJECT_REPRESENTATIONS)?;
    let obj = ctx
        .app
        .store
        .get(&ctx.gr(), &ctx.ns(), name)
        .ok_or_else(|| ctx.not_found(name))?;
    Ok(object_response(
        StatusCode::OK,
        rep,
        &ctx.info,
        &ctx.version,
        &obj,
        ctx.include(),
    ))
}

/// Parsed selectors of a list or watch, checked against what the resource supports.
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn parse(ctx: &Ctx) -> Result<Self, StatusError> {
        let labels =
            LabelSelector::parse(ctx.q("labelSelector").unwrap_or_default()).map_err(|e| {
                StatusError::bad_request(format!("unable to parse requirement: {}", e.0))
            })?;
        let fields = FieldSelector::parse(ctx.q("fieldSelector").unwrap_or_default())
            .map_err(|e| StatusError::bad_request(e.to_string()))?;
        let allowed = ctx
            .info
            .version(&ctx.version)
            .map(|v| v.selectable_fields.clone())
            .unwrap_or_default();
        for f in fields.fields() {
            if f != "metadata.name" && f != "metadata.namespace" && !allowed.iter().any(|a| a == f)
            {
                let msg = if ctx.info.is_custom() {
                    let mut known = vec![
                        "\"metadata.name\"".to_string(),
                        "\"metadata.namespace\"".to_string(),
                    ];
                    known.extend(allowed.iter().map(|a| format!("{a:?}")));
                    format!(
                        "{f:?} is not a known field selector: only {}",
                        known.join(", ")
                    )
                } else {
                    format!("field label not supported: {f}")
                };
                return Err(StatusError::bad_request(msg));
            }
        }
        Ok(Self { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches_object(obj)
    }

    /// [`Selectors::matches`] on a stored object, parsing it whole only for a field selector
    /// (labels live in its head).
    pub fn matches_stored(&self, obj: &StoredObject) -> bool {
        if self.is_empty() {
            true
        } else if self.fields.is_empty() {
            self.labels.matches_object(&obj.head())
        } else {
            self.matches(&obj.value())
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    ns: String,
    name: String,
}

/// GET of a collection.
pub async fn list(ctx: Ctx) -> Result<Response, ApiError> {
    let rep = ctx.rep(LIST_REPRESENTATIONS)?;
    let sel = Selectors::parse(&ctx)?;
    let limit: usize = match ctx.q("limit") {
        Some(l) => l
            .parse()
            .map_err(|_| StatusError::bad_request(format!("invalid limit {l:?}")))?,
        None => 0,
    };
    let after: Option<(u64, NsName)> = match ctx.q("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let token: ContinueToken = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| {
                    StatusError::bad_request("continue key is not valid: illegal base64 data")
                })?;
            Some((token.rv, (token.ns, token.name)))
        }
        None => None,
    };
    let ns = ctx.namespace.clone();
    // An exact metadata.name / metadata.namespace selector narrows the scan.
    let ns = ns.or_else(|| {
        sel.fields
            .exact("metadata.namespace")
            .map(String::from)
            .filter(|_| ctx.info.namespaced)
    });
    let filter = |o: &StoredObject| sel.is_empty() || sel.matches_stored(o);
    let (rv, items, more) = ctx.app.store.list(
        &ctx.gr(),
        ns.as_deref(),
        after.as_ref().map(|(_, k)| k),
        limit,
        &filter,
    );
    let rv = after.as_ref().map(|(r, _)| *r).unwrap_or(rv);
    let token = if more {
        items
            .last()
            .map(|o| {
                let t = ContinueToken {
                    rv,
                    ns: meta_str(&o.head(), "namespace")
                        .unwrap_or_default()
                        .to_string(),
                    name: meta_str(&o.head(), "name").unwrap_or_default().to_string(),
                };
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(serde_json::to_vec(&t).unwrap_or_default())
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(list_response(
        rep,
        &ctx.info,
        &ctx.version,
        &items,
        rv,
        &token,
        None,
        ctx.include(),
    ))
}

/// Carry over what a client may not change, bump generation, and decide what the write is.
fn merge_update(ctx: &Ctx, scope: Scope, existing: &Value, mut incoming: Value) -> Value {
    let info = &ctx.info;
    match scope {
        Scope::Status => {
            // Only status changes through /status.
            let mut out = existing.clone();
            if let Some(m) = out.as_object_mut() {
                match incoming.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
            return out;
        }
        Scope::Finalize => {
            let mut out = existing.clone();
            if let Some(m) = out.as_object_mut() {
                m.insert(
                    "spec".into(),
                    incoming.get("spec").cloned().unwrap_or_else(|| json!({})),
                );
            }
            return out;
        }
        Scope::Main => {}
    }
    let em = existing
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    {
        let meta = meta_mut(&mut incoming);
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
            "generation",
        ] {
            match em.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.remove("managedFields");
        meta.remove("selfLink");
    }
    let has_status_sub = info
        .version(&ctx.version)
        .is_some_and(|v| v.status_subresource);
    if has_status_sub && let Some(m) = incoming.as_object_mut() {
        match existing.get("status") {
            Some(s) => m.insert("status".into(), s.clone()),
            None => m.remove("status"),
        };
    }
    if info.builtin == Some(BuiltinKind::Namespace)
        && let Some(m) = incoming.as_object_mut()
    {
        // spec.finalizers changes only through /finalize; status through /status.
        for k in ["spec", "status"] {
            if let Some(v) = existing.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
    }
    if info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
        // Keep the conditions (and their transition times) unless the names changed.
        let unchanged = existing.pointer("/spec/names") == incoming.pointer("/spec/names")
            && existing.pointer("/spec/versions") == incoming.pointer("/spec/versions");
        let status = match existing.get("status") {
            Some(s) if unchanged => s.clone(),
            _ => crd_status(&incoming),
        };
        if let Some(m) = incoming.as_object_mut() {
            m.insert("status".into(), status);
        }
    }
    if (info.is_custom() || info.builtin == Some(BuiltinKind::CustomResourceDefinition))
        && patch::spec_changed(existing, &incoming)
    {
        let g = existing
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta_mut(&mut incoming).insert("generation".into(), json!(g));
    }
    incoming
}

fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

/// Commit an updated object with optimistic concurrency; removes it instead when it is
/// being deleted and has no finalizers left.
async fn commit_update(
    ctx: &Ctx,
    name: &str,
    existing: &StoredObject,
    mut obj: Value,
    fv: FieldValidation,
    rep: Representation,
    scope: Scope,
) -> Result<Response, UpdateError> {
    let old = &existing.value();
    let warnings = if scope == Scope::Main || ctx.info.is_custom() {
        admit(ctx, &mut obj, Some(old), fv)?
    } else {
        Vec::new()
    };
    if same_ignoring_rv(&obj, old) {
        return Ok(with_warnings(
            object_response(
                StatusCode::OK,
                rep,
                &ctx.info,
                &ctx.version,
                existing,
                ctx.include(),
            ),
            &warnings,
        ));
    }
    if ctx.dry_run() {
        let stored = StoredObject::unstored(existing.rv, &obj);
        return Ok(object_response(
            StatusCode::OK,
            rep,
            &ctx.info,
            &ctx.version,
            &stored,
            ctx.include(),
        ));
    }
    let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
    let finished =
        deleting && finalizers(&obj).is_empty() && namespace_spec_finalizers_done(ctx, &obj);
    let action = if finished {
        Action::Delete
    } else {
        Action::Put(obj)
    };
    let op = WriteOp {
        gr: ctx.gr(),
        namespace: ctx.ns(),
        name: name.to_string(),
        precondition: Precondition::ResourceVersion(existing.rv),
        action,
    };
    match ctx.app.store.write(op).await {
        Ok(out) => {
            let stored = out.object().clone();
            after_write(ctx, &stored);
            if let WriteOutcome::Deleted(_) = out {
                after_delete(ctx, &stored.value());
            }
            Ok(with_warnings(
                object_response(
                    StatusCode::OK,
                    rep,
                    &ctx.info,
                    &ctx.version,
                    &stored,
                    ctx.include(),
                ),
                &warnings,
            ))
        }
        Err(StoreError::Conflict) => Err(UpdateError::Conflict),
        Err(e) => Err(UpdateError::Status(ctx.store_err(name, e))),
    }
}

fn namespace_spec_finalizers_done(ctx: &Ctx, obj: &Value) -> bool {
    if ctx.info.builtin != Some(BuiltinKind::Namespace) {
        return true;
    }
    obj.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
}

fn after_delete(ctx: &Ctx, obj: &Value) {
    if ctx.info.builtin == Some(BuiltinKind::CustomResourceDefinition) {
        let group = obj
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let plural = obj
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ctx.app.registry.remove(group, plural);
    }
    ctx.app.controllers.notify_one();
}

enum UpdateError {
    Conflict,
    Status(StatusError),
}

impl From<StatusError> for UpdateError {
    fn from(e: StatusError) -> Self {
        Self::Status(e)
    }
}

fn scope_of(sub: Option<&str>) -> Result<Scope, StatusError> {
    match sub {
        None => Ok(Scope::Main),
        Some("status") => Ok(Scope::Status),
        Some("finalize") => Ok(Scope::Finalize),
        Some(_) => Err(StatusError::resource_not_found()),
    }
}

fn check_subresource(ctx: &Ctx, scope: Scope) -> Result<(), StatusError> {
    let ok = match scope {
        Scope::Main => true,
        Scope::Status => ctx
            .info
            .version(&ctx.version)
            .is_some_and(|v| v.status_subresource),
        Scope::Finalize => ctx.info.builtin == Some(BuiltinKind::Namespace),
    };
    if ok {
        Ok(())
    } else {
        Err(StatusError::resource_not_found())
    }
}

/// PUT of an object (or its status / finalize subresource).
pub async fn update(
    ctx: Ctx,
    name: &str,
    sub: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let scope = scope_of(sub)?;
    check_subresource(&ctx, scope)?;
    let rep = ctx.rep(OBJECT_REPRESENTATIONS)?;
    let fv = ctx.field_validation()?;
    let obj = decode_body(&ctx.headers, body)?;
    check_gvk(&ctx, &obj)?;
    if let Some(n) = meta_str(&obj, "name")
        && n != name
    {
        return Err(StatusError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        ))
        .into());
    }
    if ctx.info.namespaced
        && let Some(ns) = meta_str(&obj, "namespace").filter(|n| !n.is_empty())
        && ns != ctx.ns()
    {
        return Err(StatusError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )
        .into());
    }
    let want_rv = match meta_str(&obj, "resourceVersion").filter(|r| !r.is_empty()) {
        Some(r) => Some(r.parse::<u64>().map_err(|_| {
            StatusError::invalid(
                &ctx.info.group,
                &ctx.info.kind,
                name,
                &[FieldError::invalid(
                    "metadata.resourceVersion",
                    &Value::String(r.into()),
                    "must be a valid resource version",
                )],
            )
        })?),
        None => None,
    };
    let existing = ctx
        .app
        .store
        .get(&ctx.gr(), &ctx.ns(), name)
        .ok_or_else(|| ctx.not_found(name))?;
    if want_rv.is_some_and(|r| r != existing.rv) {
        return Err(ctx.conflict(name).into());
    }
    let merged = merge_update(&ctx, scope, &existing.value(), obj);
    match commit_update(&ctx, name, &existing, merged, fv, rep, scope).await {
        Ok(r) => Ok(r),
        Err(UpdateError::Conflict) => Err(ctx.conflict(name).into()),
        Err(UpdateError::Status(e)) => Err(e.into()),
    }
}

fn list_strategy_for(kind: Option<BuiltinKind>) -> impl Fn(&[&str]) -> ListStrategy {
    move |path: &[&str]| {
        let meta = patch::metadata_list_strategy(path);
        if meta != ListStrategy::Replace {
            return meta;
        }
        match (kind, path) {
            (Some(BuiltinKind::ServiceAccount), ["secrets"] | ["imagePullSecrets"]) => {
                ListStrategy::MergeByKey("name".into())
            }
            _ => ListStrategy::Replace,
        }
    }
}

/// Deep-merge an applied configuration into the live object (objects merge, lists and scalars
/// from the applied configuration win). This is the server-side apply approximation.
fn apply_merge(live: &mut Value, applied: &Value) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, v) in a {
                match l.get_mut(k) {
                    Some(lv) if lv.is_object() && v.is_object() => apply_merge(lv, v),
                    _ => {
                        l.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (l, a) => *l = a.clone(),
    }
}

/// PATCH of an object (or its status subresource).
pub async fn patch(
    ctx: Ctx,
    name: &str,
    sub: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let scope = scope_of(sub)?;
    check_subresource(&ctx, scope)?;
    let rep = ctx.rep(OBJECT_REPRESENTATIONS)?;
    let fv = ctx.field_validation()?;
    let ct = ctx
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let pt = PatchType::from_content_type(ct).ok_or_else(|| {
        let mut accepted = vec![
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ];
        if ctx.info.builtin.is_some() {
            accepted.push("application/strategic-merge-patch+json");
        }
        StatusError::unsupported_patch(&accepted)
    })?;
    if pt == PatchType::StrategicMerge && ctx.info.is_custom() {
        return Err(StatusError::unsupported_patch(SMP_UNSUPPORTED_TYPES).into());
    }
    if pt == PatchType::Apply && ctx.q("fieldManager").is_none_or(str::is_empty) {
        return Err(StatusError::bad_request("PATCH requests of type application/apply-patch+yaml must have a fieldManager parameter").into());
    }
    for _attempt in 0..16 {
        let Some(existing) = ctx.app.store.get(&ctx.gr(), &ctx.ns(), name) else {
            if pt == PatchType::Apply && scope == Scope::Main {
                let mut obj = decode_body(&ctx.headers, body)?;
                check_gvk(&ctx, &obj)?;
                if meta_str(&obj, "name").is_some_and(|n| n != name) {
                    return Err(StatusError::bad_request(format!(
                        "the name of the object ({}) does not match the name on the URL ({name})",
                        meta_str(&obj, "name").unwrap_or_default()
                    ))
                    .into());
                }
                meta_mut(&mut obj).insert("name".into(), Value::String(name.into()));
                return create_object(&ctx, &mut obj, fv, rep).await;
            }
            return Err(ctx.not_found(name).into());
        };
        let current = existing.value();
        let patched = match pt {
            PatchType::Json => patch::apply_json_patch(&current, body)?,
            PatchType::Merge => patch::apply_merge_patch(&current, body)?,
            PatchType::StrategicMerge => patch::apply_strategic_merge_patch(
                &current,
                body,
                &list_strategy_for(ctx.info.builtin),
            )?,
            PatchType::Apply => {
                let applied = decode_body(&ctx.headers, body)?;
                check_gvk(&ctx, &applied)?;
                let mut out = current.clone();
                apply_merge(&mut out, &applied);
                out
            }
        };
        if !patched.is_object() {
            return Err(StatusError::bad_request("the patch did not produce an object").into());
        }
        // A resourceVersion written by the patch is a precondition, as in kube-apiserver.
        let user_rv = meta_str(&patched, "resourceVersion")
            .filter(|r| *r != existing.rv.to_string())
            .map(String::from);
        if user_rv.is_some()
            && meta_str(&current, "resourceVersion") != meta_str(&patched, "resourceVersion")
        {
            return Err(ctx.conflict(name).into());
        }
        if meta_str(&patched, "name").is_some_and(|n| n != name) {
            return Err(StatusError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta_str(&patched, "name").unwrap_or_default()
            ))
            .into());
        }
        let merged = merge_update(&ctx, scope, &current, patched);
        match commit_update(&ctx, name, &existing, merged, fv, rep, scope).await {
            Ok(r) => return Ok(r),
            Err(UpdateError::Conflict) => continue,
            Err(UpdateError::Status(e)) => return Err(e.into()),
        }
    }
    Err(ctx.conflict(name).into())
}

/// `DeleteOptions` from the body and the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    pub fn parse(ctx: &Ctx, body: &[u8]) -> Result<Self, StatusError> {
        let mut o = DeleteOptions {
            propagation: ctx.q("propagationPolicy").map(String::from),
            dry_run: ctx.dry_run(),
            ..Default::default()
        };
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: Value = serde_json::from_slice(body).map_err(|e| {
                StatusError::bad_request(format!("error decoding DeleteOptions: {e}"))
            })?;
            if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
                o.propagation = Some(p.into());
            }
            if let Some(p) = v.get("orphanDependents").and_then(Value::as_bool) {
                o.propagation = Some(if p { "Orphan" } else { "Background" }.into());
            }
            o.precondition_uid = v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from);
            o.precondition_rv = v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
            if v.get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x == "All"))
            {
                o.dry_run = true;
            }
        }
        if let Some(p) = &o.propagation
            && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
        {
            return Err(StatusError::invalid(
                "",
                "DeleteOptions",
                "",
                &[FieldError::not_supported(
                    "propagationPolicy",
                    &Value::String(p.clone()),
                    &[json!("Foreground"), json!("Background"), json!("Orphan")],
                )],
            ));
        }
        Ok(o)
    }
}

/// What a delete did.
pub enum Deletion {
    /// Gone now.
    Deleted(Arc<StoredObject>),
    /// Marked with a deletionTimestamp; finalizers pending.
    Pending(Arc<StoredObject>),
}

/// Delete honouring finalizers and the propagation policy (shared with the controllers).
pub async fn delete_object(
    ctx: &Ctx,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deletion, StatusError> {
    if ctx.info.builtin == Some(BuiltinKind::Namespace)
        && matches!(name, "default" | "kube-system" | "kube-public")
    {
        return Err(StatusError::forbidden(
            "",
            "namespaces",
            name,
            "this namespace may not be deleted",
        ));
    }
    for _ in 0..16 {
        let existing = ctx
            .app
            .store
            .get(&ctx.gr(), &ctx.ns(), name)
            .ok_or_else(|| ctx.not_found(name))?;
        let head = existing.head();
        let uid = meta_str(&head, "uid").unwrap_or_default();
        if let Some(want) = &opts.precondition_uid
            && want != uid
        {
            return Err(StatusError::conflict(
                &ctx.info.group,
                &ctx.info.resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
        if let Some(want) = &opts.precondition_rv
            && *want != existing.rv.to_string()
        {
            return Err(StatusError::conflict(
                &ctx.info.group,
                &ctx.info.resource,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in meta: {}",
                    existing.rv
                ),
            ));
        }
        let mut obj = existing.value();
        let mut fins = finalizers(&obj);
        match opts.propagation.as_deref() {
            Some("Orphan") if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
            Some("Foreground") if !fins.iter().any(|f| f == "foregroundDeletion") => {
                fins.push("foregroundDeletion".into())
            }
            _ => {}
        }
        if ctx.info.builtin == Some(BuiltinKind::CustomResourceDefinition)
            && !fins.iter().any(|f| f == CRD_CLEANUP_FINALIZER)
            && obj.pointer("/metadata/deletionTimestamp").is_none()
        {
            fins.push(CRD_CLEANUP_FINALIZER.into());
        }
        let ns_pending = ctx.info.builtin == Some(BuiltinKind::Namespace);
        if opts.dry_run {
            return Ok(Deletion::Pending(existing));
        }
        let action = if fins.is_empty() && !ns_pending {
            Action::Delete
        } else {
            if obj.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&obj) == fins {
                // Already being deleted; nothing changes.
                return Ok(Deletion::Pending(existing));
            }
            let meta = meta_mut(&mut obj);
            meta.insert("finalizers".into(), json!(fins));
            if !meta.contains_key("deletionTimestamp") {
                meta.insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            if fins.is_empty() {
                meta.remove("finalizers");
            }
            if ns_pending && let Some(m) = obj.as_object_mut() {
                m.insert("status".into(), json!({"phase": "Terminating"}));
            }
            Action::Put(obj)
        };
        let op = WriteOp {
            gr: ctx.gr(),
            namespace: ctx.ns(),
            name: name.to_string(),
            precondition: Precondition::ResourceVersion(existing.rv),
            action,
        };
        match ctx.app.store.write(op).await {
            Ok(WriteOutcome::Deleted(o)) => {
                after_delete(ctx, &o.value());
                return Ok(Deletion::Deleted(o));
            }
            Ok(WriteOutcome::Put { object, .. }) => {
                ctx.app.controllers.notify_one();
                return Ok(Deletion::Pending(object));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(ctx.store_err(name, e)),
        }
    }
    Err(ctx.conflict(name))
}

/// The finalizer a CRD carries while its instances are removed.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// DELETE of one object.
pub async fn delete(ctx: Ctx, name: &str, body: &[u8]) -> Result<Response, ApiError> {
    let rep = ctx.rep(OBJECT_REPRESENTATIONS)?;
    let opts = DeleteOptions::parse(&ctx, body)?;
    match delete_object(&ctx, name, &opts).await? {
        Deletion::Pending(o) => Ok(object_response(
            StatusCode::ACCEPTED,
            rep,
            &ctx.info,
            &ctx.version,
            &o,
            ctx.include(),
        )),
        Deletion::Deleted(o) => {
            if ctx.info.is_custom()
                || ctx.info.builtin == Some(BuiltinKind::CustomResourceDefinition)
            {
                Ok(object_response(
                    StatusCode::OK,
                    rep,
                    &ctx.info,
                    &ctx.version,
                    &o,
                    ctx.include(),
                ))
            } else {
                let head = o.head();
                let uid = meta_str(&head, "uid").unwrap_or_default();
                Ok(super::response::json_response(
                    StatusCode::OK,
                    &success_status(&ctx.info.group, &ctx.info.resource, name, uid),
                ))
            }
        }
    }
}

/// DELETE of a collection (honours selectors).
pub async fn delete_collection(ctx: Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let rep = ctx.rep(LIST_REPRESENTATIONS)?;
    let opts = DeleteOptions::parse(&ctx, body)?;
    let sel = Selectors::parse(&ctx)?;
    let filter = |o: &StoredObject| sel.matches_stored(o);
    let (_, items, _) = ctx
        .app
        .store
        .list(&ctx.gr(), ctx.namespace.as_deref(), None, 0, &filter);
    let mut out = Vec::new();
    for item in items {
        let name = meta_str(&item.head(), "name")
            .unwrap_or_default()
            .to_string();
        match delete_object(&ctx, &name, &opts).await {
            Ok(Deletion::Deleted(o) | Deletion::Pending(o)) => out.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let rv = ctx.app.store.current_rv();
    Ok(list_response(
        rep,
        &ctx.info,
        &ctx.version,
        &out,
        rv,
        "",
        None,
        ctx.include(),
    ))
}

/// Render any handler result.
pub fn finish(r: Result<Response, ApiError>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => {
            if e.0.code >= 500 {
                tracing::error!(message = %e.0.message, "request failed");
            }
            status_error(&e.0)
        }
    }
}
