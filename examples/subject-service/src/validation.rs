//! Input rules; every violated rule is reported, each naming its field.

use servicekit::prelude::*;
use uuid::Uuid;

use crate::model::{EnrolmentInput, SubjectInput};

/// Longest accepted title, in characters.
pub const MAX_TITLE: usize = 200;
/// Accepted code lengths.
pub const CODE_LEN: std::ops::RangeInclusive<usize> = 2..=20;
/// Accepted credit points.
pub const CREDITS: std::ops::RangeInclusive<i64> = 1..=60;

/// The title rule as the OpenAPI document states it (`SubjectInput::title`): no control
/// character, and at least one character that is neither a control character nor whitespace.
/// The classes spell out Unicode's White_Space, which is what [`str::trim`] removes.
pub const TITLE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A validated, normalised subject input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubject {
    /// Trimmed, upper-cased code.
    pub code: String,
    /// Trimmed title.
    pub title: String,
    /// Credit points.
    pub credits: i64,
}

/// Checks `input`, returning a 422 problem that lists every invalid field.
///
/// The rules are exactly those the OpenAPI document states, so that every request the document
/// calls valid is accepted and every other one rejected.
pub fn validate_subject(input: SubjectInput) -> Result<ValidSubject, Problem> {
    let code = input.code.to_ascii_uppercase();
    let mut errors = Vec::new();
    if !CODE_LEN.contains(&code.len())
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        errors.push((
            "code",
            format!(
                "must be {} to {} letters, digits or `-`",
                CODE_LEN.start(),
                CODE_LEN.end()
            ),
        ));
    }
    if input.title.chars().any(char::is_control) {
        errors.push(("title", "must not contain control characters".to_string()));
    } else if input.title.trim().is_empty() {
        errors.push(("title", "must not be empty".to_string()));
    } else if input.title.chars().count() > MAX_TITLE {
        errors.push(("title", format!("must be at most {MAX_TITLE} characters")));
    }
    let title = input.title.trim().to_string();
    let credits = Some(input.credits).filter(|c| CREDITS.contains(c));
    if credits.is_none() {
        errors.push((
            "credits",
            format!("must be between {} and {}", CREDITS.start(), CREDITS.end()),
        ));
    }
    match (errors.is_empty(), credits) {
        (true, Some(credits)) => Ok(ValidSubject {
            code,
            title,
            credits,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

/// Checks an enrolment body: `student_id` must be a UUID in its hyphenated form, the only one
/// the document's `format: uuid` allows (`Uuid::parse_str` also takes braced, URN and simple).
pub fn validate_enrolment(input: &EnrolmentInput) -> Result<Uuid, Problem> {
    Some(input.student_id.as_str())
        .filter(|id| id.len() == 36)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Problem::validation([("student_id", "must be a student id (a UUID)")]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(code: &str, title: &str, credits: i64) -> SubjectInput {
        SubjectInput {
            code: code.into(),
            title: title.into(),
            credits,
        }
    }

    #[test]
    fn normalises_valid_input() {
        let v = validate_subject(input("math-101", " Calculus ", 6)).unwrap();
        assert_eq!(
            v,
            ValidSubject {
                code: "MATH-101".into(),
                title: "Calculus".into(),
                credits: 6
            }
        );
    }

    #[test]
    fn reports_every_invalid_field() {
        let p = validate_subject(input("x", "", 0)).unwrap_err();
        let detail = p.detail().unwrap();
        for field in ["code:", "title:", "credits:"] {
            assert!(detail.contains(field), "{detail}");
        }
        assert!(validate_subject(input("A B", "t", 1)).is_err());
        assert!(validate_subject(input(" AB", "t", 1)).is_err());
        assert!(validate_subject(input("AB", "t\u{85}", 1)).is_err());
        assert!(validate_subject(input("AB", "\u{3000}", 1)).is_err());
        assert!(validate_subject(input("AB", "t", 61)).is_err());
        assert!(validate_subject(input("AB", "t", i64::MAX)).is_err());
    }

    #[test]
    fn student_id_must_be_a_uuid() {
        let id = |s: &str| EnrolmentInput {
            student_id: s.into(),
        };
        let uuid = "01a22d05-e436-70a4-951b-555fece239fc";
        assert!(validate_enrolment(&id(uuid)).is_ok());
        for other in [
            format!(" {uuid}"),
            uuid.replace('-', ""),
            format!("{{{uuid}}}"),
            format!("urn:uuid:{uuid}"),
        ] {
            assert!(validate_enrolment(&id(&other)).is_err(), "{other}");
        }
        let bad = id("42");
        assert!(
            validate_enrolment(&bad)
                .unwrap_err()
                .detail()
                .unwrap()
                .contains("student_id")
        );
    }
}
