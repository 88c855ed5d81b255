//! Secret references: `env://NAME`, `file:///run/secrets/x`, `aws-sm://id#key?version-stage=..`.

use std::fmt;
use std::str::FromStr;

use super::{SecretError, SecretErrorKind};

/// A parsed secret reference: `scheme://location`, an optional `#key` selecting one field of a
/// JSON secret, and optional `?name=value&..` parameters for the provider.
///
/// The key and the parameters may come in either order (`aws-sm://db#password?version-stage=
/// AWSPREVIOUS` and `aws-sm://db?version-stage=AWSPREVIOUS#password` are the same reference).
///
/// ```
/// use servicekit::secrets::SecretRef;
///
/// let r: SecretRef = "aws-sm://prod/student-db#password?version-stage=AWSPREVIOUS".parse().unwrap();
/// assert_eq!(r.scheme(), "aws-sm");
/// assert_eq!(r.location(), "prod/student-db");
/// assert_eq!(r.key(), Some("password"));
/// assert_eq!(r.param("version-stage"), Some("AWSPREVIOUS"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    raw: String,
    scheme: String,
    location: String,
    key: Option<String>,
    params: Vec<(String, String)>,
}

impl SecretRef {
    /// Parses `raw`; the error names what is wrong.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let invalid = |message: String| {
            SecretError::new(SecretErrorKind::InvalidReference, raw, "reference", message)
        };
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| invalid("expected `scheme://location`".into()))?;
        if scheme.is_empty() {
            return Err(invalid("the scheme is empty".into()));
        }
        let cut = rest.find(['#', '?']).unwrap_or(rest.len());
        let location = &rest[..cut];
        let (mut key, mut query) = (None, None);
        let mut tail = &rest[cut..];
        while let Some(marker) = tail.chars().next() {
            let body = &tail[1..];
            let end = body.find(['#', '?']);
            let (part, next) = body.split_at(end.unwrap_or(body.len()));
            let slot = if marker == '#' { &mut key } else { &mut query };
            if slot.replace(part).is_some() {
                return Err(invalid(format!("`{marker}` appears twice")));
            }
            tail = next;
        }
        if location.is_empty() {
            return Err(invalid("the location after `://` is empty".into()));
        }
        if key == Some("") {
            return Err(invalid("the JSON key after `#` is empty".into()));
        }
        let params = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if !name.is_empty() => Ok((name.into(), value.into())),
                _ => Err(invalid(format!("parameter `{pair}` is not `name=value`"))),
            })
            .collect::<Result<Vec<(String, String)>, _>>()?;
        Ok(Self {
            raw: raw.to_string(),
            scheme: scheme.to_string(),
            location: location.to_string(),
            key: key.map(str::to_string),
            params,
        })
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme, which selects the provider: `env`, `file`, `aws-sm`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// What the provider looks up: a variable name, a path, a secret id or ARN.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The JSON key after `#`, if any.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The `?name=value` parameters, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An error unless every parameter is one of `allowed` (for providers).
    pub fn only_params(&self, provider: &str, allowed: &[&str]) -> Result<(), SecretError> {
        match self
            .params
            .iter()
            .find(|(n, _)| !allowed.contains(&n.as_str()))
        {
            None => Ok(()),
            Some((name, _)) => Err(SecretError::new(
                SecretErrorKind::InvalidReference,
                self,
                provider,
                match allowed {
                    [] => format!("unknown parameter `{name}`: this provider takes none"),
                    _ => format!(
                        "unknown parameter `{name}`: expected one of {}",
                        allowed.join(", ")
                    ),
                },
            )),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for SecretRef {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_params_in_either_order() {
        let a = SecretRef::parse("aws-sm://db#password?version-stage=AWSPREVIOUS").unwrap();
        let b = SecretRef::parse("aws-sm://db?version-stage=AWSPREVIOUS#password").unwrap();
        for r in [&a, &b] {
            assert_eq!(r.location(), "db");
            assert_eq!(r.key(), Some("password"));
            assert_eq!(
                r.params(),
                &[("version-stage".into(), "AWSPREVIOUS".into())]
            );
        }
    }

    #[test]
    fn file_paths_and_arns_keep_their_shape() {
        let f = SecretRef::parse("file:///run/secrets/db").unwrap();
        assert_eq!((f.scheme(), f.location()), ("file", "/run/secrets/db"));
        let arn = "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
        let a = SecretRef::parse(arn).unwrap();
        assert_eq!(
            a.location(),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
        );
        assert_eq!(a.to_string(), arn);
    }

    #[test]
    fn malformed_references_say_why() {
        for (raw, why) in [
            ("DB_PASSWORD", "scheme://location"),
            ("env://", "location"),
            ("aws-sm://db#", "JSON key"),
            ("aws-sm://db#a#b", "twice"),
            ("aws-sm://db?stage", "name=value"),
        ] {
            let err = SecretRef::parse(raw).unwrap_err();
            assert_eq!(err.kind(), SecretErrorKind::InvalidReference);
            assert!(err.to_string().contains(why), "{raw}: {err}");
        }
    }

    #[test]
    fn unknown_params_are_rejected_by_name() {
        let r = SecretRef::parse("env://X?version-id=1").unwrap();
        let err = r.only_params("environment", &[]).unwrap_err();
        assert!(err.message().contains("`version-id`"), "{err}");
        assert!(r.only_params("x", &["version-id"]).is_ok());
    }
}
