//! Input rules for students; every violated rule is reported, each naming its field.

use servicekit::prelude::*;

use crate::model::StudentInput;

/// Longest accepted name, in characters (as sent, before trimming).
pub const MAX_NAME: usize = 200;
/// Longest accepted email, in characters (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 320;

/// The name rule as the OpenAPI document states it (`StudentInput::name`): no control
/// character, and at least one character that is neither a control character nor whitespace.
/// The classes spell out Unicode's White_Space, which is what [`str::trim`] removes.
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// The email rule as the OpenAPI document states it (`StudentInput::email`): a local part, one
/// `@`, and a domain with a dot that neither starts nor ends with one; no whitespace or control
/// character anywhere.
pub const EMAIL_PATTERN: &str = "^[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+@[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*\\.[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]$";

/// A validated, normalised student input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStudent {
    /// Trimmed name.
    pub name: String,
    /// Lower-cased email.
    pub email: String,
}

/// Checks `input`, returning a 422 problem that lists every invalid field.
///
/// The rules are exactly those the OpenAPI document states (lengths, [`NAME_PATTERN`],
/// [`EMAIL_PATTERN`]), so that every request the document calls valid is accepted and every
/// other one rejected.
pub fn validate(input: StudentInput) -> Result<ValidStudent, Problem> {
    let mut errors = Vec::new();
    if let Err(why) = check_name(&input.name) {
        errors.push(("name", why));
    }
    if let Err(why) = check_email(&input.email) {
        errors.push(("email", why));
    }
    if errors.is_empty() {
        Ok(ValidStudent {
            name: input.name.trim().to_string(),
            email: input.email.to_lowercase(),
        })
    } else {
        Err(Problem::validation(errors))
    }
}

/// 1 to [`MAX_NAME`] characters, no control characters, not only whitespace.
fn check_name(name: &str) -> Result<(), String> {
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("must be at most {MAX_NAME} characters"));
    }
    Ok(())
}

/// A deliberately simple check: one `@`, a non-empty local part, a dotted domain, no
/// whitespace or control characters.
fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.chars().count() > MAX_EMAIL {
        return Err(format!("must be at most {MAX_EMAIL} characters"));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err("must be an email address like name@example.org".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str) -> StudentInput {
        StudentInput {
            name: name.into(),
            email: email.into(),
        }
    }

    #[test]
    fn normalises_valid_input() {
        let v = validate(input("  Ada Lovelace ", "Ada@Example.org")).unwrap();
        assert_eq!(v.name, "Ada Lovelace");
        assert_eq!(v.email, "ada@example.org");
    }

    #[test]
    fn reports_every_invalid_field() {
        let p = validate(input(" ", "not-an-email")).unwrap_err();
        assert_eq!(p.status(), 422);
        let detail = p.detail().unwrap();
        assert!(detail.contains("name: must not be empty"), "{detail}");
        assert!(
            detail.contains("email: must be an email address"),
            "{detail}"
        );
    }

    #[test]
    fn rejects_bad_emails() {
        for bad in [
            "a@b",
            "@b.org",
            "a@@b.org",
            "a b@c.org",
            "a@.org",
            "a@org.",
            " a@b.org",
            "a@b.org\n",
            "a\u{1c}@b.org",
            "a@b\u{a0}.org",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_email("a@b.c").is_ok());
        assert!(check_email(&format!("{}@b.org", "a".repeat(314))).is_ok());
        assert!(check_email(&format!("{}@b.org", "a".repeat(315))).is_err());
    }

    #[test]
    fn names_follow_the_documented_pattern() {
        assert!(check_name(&"x".repeat(200)).is_ok());
        // Length counts what was sent, as the document's maxLength does.
        assert!(check_name(&format!(" {}", "x".repeat(200))).is_err());
        assert!(check_name("\u{3000}x\u{a0}").is_ok());
        for bad in [
            "",
            " ",
            "\u{2003}\u{3000}",
            "a\nb",
            "a\u{1c}",
            "\u{85}",
            "a\u{0}",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
