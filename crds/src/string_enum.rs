//! `string_enum!`: string-valued API enums that never fail to decode.
//!
//! Upstream's enums are Go strings, so any value round-trips. Ours keep the known values
//! as variants and carry anything else in `Other`, so that old or foreign data (e.g. legacy
//! task types in git annotations) decodes, and validation can report the exact value.

/// Declares a string enum with known variants, an `Other(String)` catch-all, a default,
/// string (de)serialization and a plain `type: string` JSON schema.
///
/// `Variant = "value" | "alias"` maps extra spellings (e.g. `""`) onto a variant on decode.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:literal $(| $alias:literal)*
            ),+ $(,)?
        }
        default = $default:ident;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
            /// A value this version does not know; kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)+
                    Self::Other(value) => value.as_str(),
                }
            }

            /// Whether this is one of the known values.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value $(| $alias)* => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // `null` decodes like Go's zero value: the empty string.
                let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
                Ok(Self::from(value.unwrap_or_default()))
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}

pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    string_enum! {
        /// A test enum.
        pub enum Colour {
            /// Red.
            Red = "red" | "",
            /// Blue.
            Blue = "blue",
        }
        default = Red;
    }

    #[test]
    fn known_alias_and_other_values() {
        assert_eq!(Colour::from(""), Colour::Red);
        assert_eq!(Colour::from("blue"), Colour::Blue);
        assert_eq!(Colour::from("green"), Colour::Other("green".into()));
        assert!(!Colour::from("green").is_known());
        let decoded: Vec<Colour> = serde_json::from_str(r#"["red","green",null]"#).unwrap();
        assert_eq!(
            decoded,
            vec![Colour::Red, Colour::Other("green".into()), Colour::Red]
        );
        assert_eq!(
            serde_json::to_string(&decoded).unwrap(),
            r#"["red","green","red"]"#
        );
    }
}
