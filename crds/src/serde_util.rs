//! Small serde helpers that reproduce Go's `encoding/json` behaviour (`omitempty`, `null`).

use serde::{Deserialize, Deserializer};

/// Decodes `null` (and absence, with `#[serde(default)]`) as the type's default, as Go does
/// for non-pointer fields.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `omitempty` for a bool.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// `omitempty` for an integer.
pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// `omitempty` for a Go map or slice held as an `Option` (to keep nil apart from empty on
/// decode): both nil and empty are omitted.
pub(crate) fn is_none_or_empty<T: IsEmpty>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(IsEmpty::is_empty)
}

/// Collections that can be empty.
pub(crate) trait IsEmpty {
    fn is_empty(&self) -> bool;
}

impl<T> IsEmpty for Vec<T> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

impl IsEmpty for crate::string_map::StringMap {
    fn is_empty(&self) -> bool {
        crate::string_map::StringMap::is_empty(self)
    }
}

impl<K, V> IsEmpty for std::collections::BTreeMap<K, V> {
    fn is_empty(&self) -> bool {
        std::collections::BTreeMap::is_empty(self)
    }
}

/// Decodes an absent, `null` or `""` string as `None` (Go `omitempty` strings held as
/// `Option<T>`), anything else through `T::from`.
pub(crate) fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_empty()).map(T::from))
}
