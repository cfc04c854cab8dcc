//! Compact `Deserialize` implementations for the flag model.
//!
//! serde's derive emits, for every struct, a sequence visitor, a map visitor and a
//! field-identifier enum; in the wasm module that came to roughly a fifth of its size.
//! Flags documents are always maps, so these macros generate one map visitor per type
//! (and one string match per enum), with serde's own error messages: unknown fields
//! (where refused), missing and duplicate fields, unknown variants.

use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A map key, borrowed from the input when it can be.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Implements `Deserialize` for a struct read from a map.
///
/// `map_struct!(Type, "expecting", deny | allow, { field: default_expr_or_required, ... })`
/// where each field is `name` (required) or `name = expr` (default when absent).
macro_rules! map_struct {
    (@value $map:ident, $name:ident) => {
        $name.ok_or_else(|| serde::de::Error::missing_field(stringify!($name)))?
    };
    (@value $map:ident, $name:ident, $default:expr) => {
        match $name {
            Some(v) => v,
            None => $default,
        }
    };
    (@unknown deny, $map:ident, $key:ident) => {
        return Err(serde::de::Error::unknown_field(&$key, FIELDS))
    };
    (@unknown allow, $map:ident, $key:ident) => {{
        let _ = &$key;
        $map.next_value::<serde::de::IgnoredAny>()?;
    }};
    ($ty:ident, $expecting:literal, $unknown:ident, { $($name:ident $(= $default:expr)?),* $(,)? }) => {
        impl $ty {
            /// The fields this type reads (for checks of documents outside the engine,
            /// such as the CLI's unknown-field check).
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($name)),*];
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct MapVisitor;
                impl<'de> serde::de::Visitor<'de> for MapVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    #[allow(non_snake_case)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        #[allow(dead_code)]
                        const FIELDS: &[&str] = &[$(stringify!($name)),*];
                        $(let mut $name = None;)*
                        while let Some(key) = map.next_key::<$crate::engine::de::Key<'de>>()? {
                            let key = key.0;
                            match &*key {
                                $(stringify!($name) => {
                                    if $name.is_some() {
                                        return Err(serde::de::Error::duplicate_field(stringify!($name)));
                                    }
                                    $name = Some(map.next_value()?);
                                })*
                                _ => map_struct!(@unknown $unknown, map, key),
                            }
                        }
                        Ok($ty { $($name: map_struct!(@value map, $name $(, $default)?),)* })
                    }
                }
                d.deserialize_map(MapVisitor)
            }
        }
    };
}

/// Implements `Deserialize` for a unit enum written as a string.
macro_rules! str_enum {
    ($ty:ident, { $($variant:ident = $text:literal),* $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const VARIANTS: &[&str] = &[$($text),*];
                let text = <$crate::engine::de::Key as serde::Deserialize>::deserialize(d)?.0;
                match &*text {
                    $($text => Ok($ty::$variant),)*
                    other => Err(serde::de::Error::unknown_variant(other, VARIANTS)),
                }
            }
        }
    };
}

pub(crate) use {map_struct, str_enum};
