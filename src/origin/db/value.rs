//! Values crossing the layer: parameters going in ([`Param`], [`ToParam`]) and
//! column values coming out ([`Value`], [`FromValue`]). Five kinds, the ones both
//! SQLite and PostgreSQL store: null, integer, real, text, blob.

use super::DbError;

/// One of the five kinds of value, borrowed: a column's value coming out of a row,
/// and (as [`Param`]) a parameter going in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// SQL `NULL`.
    Null,
    /// A 64-bit signed integer (booleans are 0 and 1).
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// A bound parameter, borrowed from the value it was made from.
pub type Param<'a> = Value<'a>;

/// A Rust value that can be bound as a parameter.
pub trait ToParam {
    /// The parameter; fails for values no column can hold (`u64` beyond `i64::MAX`).
    fn to_param(&self) -> Result<Param<'_>, DbError>;
}

impl ToParam for Param<'_> {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(*self)
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        (**self).to_param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        match self {
            Some(v) => v.to_param(),
            None => Ok(Param::Null),
        }
    }
}

impl ToParam for str {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Text(self))
    }
}

impl ToParam for String {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Text(self))
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Blob(self))
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Blob(self))
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Integer(i64::from(*self)))
    }
}

impl ToParam for f64 {
    fn to_param(&self) -> Result<Param<'_>, DbError> {
        Ok(Param::Real(*self))
    }
}

macro_rules! lossless_integers {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Result<Param<'_>, DbError> {
                Ok(Param::Integer(i64::from(*self)))
            }
        }
    )*};
}
lossless_integers!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! checked_integers {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Result<Param<'_>, DbError> {
                i64::try_from(*self)
                    .map(Param::Integer)
                    .map_err(|_| DbError::Param(format!("{self} is beyond the 64-bit signed range")))
            }
        }
    )*};
}
checked_integers!(u64, usize, isize);

impl Value<'_> {
    /// The kind's name, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

/// Why a column value did not convert: the type asked for, and the value found's
/// kind. [`Row::get`](super::Row::get) adds the column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mismatch {
    /// The type asked for.
    pub expected: &'static str,
    /// The kind of value found.
    pub found: &'static str,
}

/// A Rust value a column can be read as.
pub trait FromValue: Sized {
    /// Converts the column's value; integers convert to narrower types only when they fit.
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch>;
}

fn mismatch(expected: &'static str, value: Value<'_>) -> Mismatch {
    Mismatch {
        expected,
        found: value.kind(),
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for String {
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
        match value {
            Value::Text(t) => Ok(t.to_string()),
            v => Err(mismatch("text", v)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
        match value {
            Value::Blob(b) => Ok(b.to_vec()),
            v => Err(mismatch("a blob", v)),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
        match value {
            Value::Real(r) => Ok(r),
            Value::Integer(i) => Ok(i as f64),
            v => Err(mismatch("a real", v)),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
        match value {
            Value::Integer(i) => Ok(i != 0),
            v => Err(mismatch("a boolean (an integer)", v)),
        }
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value<'_>) -> Result<Self, Mismatch> {
                match value {
                    Value::Integer(i) => <$t>::try_from(i).map_err(|_| Mismatch {
                        expected: concat!("an integer that fits ", stringify!($t)),
                        found: "an integer out of range",
                    }),
                    v => Err(mismatch("an integer", v)),
                }
            }
        }
    )*};
}
integers!(i32, i64, u32, u64, usize);

/// A slice of parameters: `params![a, b]` makes one, as `&[&a, &b]`.
#[macro_export]
#[doc(hidden)]
macro_rules! __db_params {
    () => {
        &[] as &[&dyn $crate::origin::db::ToParam]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::origin::db::ToParam),+] as &[&dyn $crate::origin::db::ToParam]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_convert_only_when_they_fit() {
        assert_eq!(u64::from_value(Value::Integer(7)), Ok(7));
        assert!(u64::from_value(Value::Integer(-1)).is_err());
        assert!(i64::from_value(Value::Text("1")).is_err());
        assert_eq!(f64::from_value(Value::Integer(2)), Ok(2.0));
        assert_eq!(Option::<i64>::from_value(Value::Null), Ok(None));
        assert!(u64::MAX.to_param().is_err());
        assert_eq!(
            u64::MAX.wrapping_shr(1).to_param(),
            Ok(Param::Integer(i64::MAX))
        );
        assert_eq!(true.to_param(), Ok(Param::Integer(1)));
        assert_eq!(None::<&str>.to_param(), Ok(Param::Null));
    }
}
