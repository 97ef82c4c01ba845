//! The machinery every vocabulary shares: its labels, the [`Vocabulary`] trait, the `enum` schema and the
//! macro that makes all of them from one definition.

use serde::Serialize;
use utoipa::ToSchema;

/// One value of an enumeration.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct Label {
    /// The value sent and received by the API.
    pub code: &'static str,
    /// Vietnamese label.
    pub name_vi: &'static str,
    /// English label.
    pub name_en: &'static str,
}

/// What every vocabulary offers, whichever enum it is.
pub trait Vocabulary: Sized + Copy + 'static {
    /// Every value, in the order clients show them.
    const ALL: &'static [Self];
    /// The codes of [`Self::ALL`].
    const CODES: &'static [&'static str];
    /// Every value with its labels.
    const LABELS: &'static [Label];
    /// The code sent and stored.
    fn code(self) -> &'static str;
    /// The value with this code.
    fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.code() == code)
    }
    /// The value's labels.
    fn label(self) -> Label;
    /// `a, b or c`, for messages.
    fn choices() -> String {
        match Self::CODES.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// The OpenAPI schema of a vocabulary: a string `enum`, each value described in the description.
pub fn vocabulary_schema<V: Vocabulary>(summary: &str) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let values: String = V::LABELS
        .iter()
        .map(|label| {
            format!(
                "\n- `{}`: {} ({})",
                label.code, label.name_en, label.name_vi
            )
        })
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(V::CODES.iter().copied()))
        .description(Some(format!("{summary}{values}")))
        .build()
}

/// Defines a vocabulary: the enum, its codes and labels, serde, the OpenAPI schema and the diesel
/// `text` mapping.
macro_rules! vocabulary {
    (
        $(#[doc = $doc:literal])*
        $name:ident, $list:ident {
            $( $variant:ident = $code:literal, $vi:literal, $en:literal; )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $(
                #[doc = concat!("`", $code, "`: ", $en, " (", $vi, ").")]
                $variant,
            )+
        }

        impl $crate::reference::Vocabulary for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const CODES: &'static [&'static str] = &[$($code),+];
            const LABELS: &'static [$crate::reference::Label] = &[$($crate::reference::Label { code: $code, name_vi: $vi, name_en: $en }),+];
            fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }
            fn label(self) -> $crate::reference::Label {
                match self { $(Self::$variant => $crate::reference::Label { code: $code, name_vi: $vi, name_en: $en },)+ }
            }
        }

        $(#[doc = $doc])*
        pub const $list: &[$crate::reference::Label] = <$name as $crate::reference::Vocabulary>::LABELS;

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(code: &str) -> Result<Self, String> {
                <Self as $crate::reference::Vocabulary>::parse(code)
                    .ok_or_else(|| format!("must be {}", <Self as $crate::reference::Vocabulary>::choices()))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                <Self as $crate::reference::Vocabulary>::parse(&code).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&code, <Self as $crate::reference::Vocabulary>::CODES)
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::reference::vocabulary_schema::<Self>(concat!($($doc),*).trim()).into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.code(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                <Self as $crate::reference::Vocabulary>::parse(&code)
                    .ok_or_else(|| format!("{code:?} is not a {}", stringify!($name)).into())
            }
        }
    };
}
pub(crate) use vocabulary;

/// A field that should hold a code of vocabulary `V`, read leniently: any text deserializes, so that
/// the domain's validation can report this field with every other invalid one at once (422
/// `invalid_choice`) instead of serde stopping at the first unknown code. The document states `V`'s
/// `enum` for it (`#[schema(value_type = V)]` / `#[param(value_type = V)]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, diesel::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Choice<V> {
    /// One of the vocabulary's codes.
    Known(V),
    /// Text that is not one of them.
    Unknown(String),
}

impl<V: Vocabulary> Choice<V> {
    /// The value with this code, or the text as it came (CSV cells, seeds).
    pub fn from_code(code: &str) -> Self {
        V::parse(code).map_or_else(|| Self::Unknown(code.to_owned()), Self::Known)
    }

    /// The value, when the text is one of the codes.
    pub fn known(&self) -> Option<V> {
        match self {
            Self::Known(value) => Some(*value),
            Self::Unknown(_) => None,
        }
    }

    /// The value of a choice the domain has already checked (with [`Self::check`]): an unknown code
    /// here is a bug in the caller, answered as an internal error rather than stored.
    pub fn checked(&self) -> Result<V, crate::error::AppError> {
        self.known().ok_or_else(|| {
            crate::error::AppError::internal(anyhow::anyhow!(
                "unchecked choice {:?}",
                self.as_str()
            ))
        })
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(value) => value.code(),
            Self::Unknown(text) => text,
        }
    }

    /// The value, or `invalid_choice` on `field` in `errors` (naming the codes it may take).
    pub fn check(
        &self,
        errors: &mut crate::domain::validation::FieldErrors,
        field: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Option<V> {
        match self {
            Self::Known(value) => Some(*value),
            Self::Unknown(_) => {
                errors.add(
                    field,
                    "invalid_choice",
                    format!("must be {}", V::choices()),
                    format!("phải là {}", V::choices().replace(" or ", " hoặc ")),
                );
                None
            }
        }
    }
}

/// Stored as its code; the domain stores only choices it checked.
impl<V: Vocabulary + std::fmt::Debug>
    diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for Choice<V>
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
            self.as_str(),
            out,
        )
    }
}

impl<V: Vocabulary> From<V> for Choice<V> {
    fn from(value: V) -> Self {
        Self::Known(value)
    }
}

impl<'de, V: Vocabulary> serde::Deserialize<'de> for Choice<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(V::parse(&text).map_or(Self::Unknown(text), Self::Known))
    }
}

impl<V: Vocabulary> Serialize for Choice<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Checks an optional filter or field: its value, `None` when absent, and an error when unknown.
pub fn check_choice<V: Vocabulary>(
    errors: &mut crate::domain::validation::FieldErrors,
    field: &'static str,
    value: Option<&Choice<V>>,
) -> Option<V> {
    value.and_then(|choice| choice.check(errors, field))
}
