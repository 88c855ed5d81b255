//! Input rules for students; every violated rule is reported, each naming its field.

use servicekit::Problem;

use crate::model::StudentInput;

/// Longest accepted name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest accepted email (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 320;

/// A validated, normalised student input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStudent {
    /// Trimmed name.
    pub name: String,
    /// Trimmed, lower-cased email.
    pub email: String,
}

/// Checks `input`, returning a 422 problem that lists every invalid field.
pub fn validate(input: StudentInput) -> Result<ValidStudent, Problem> {
    let name = input.name.trim().to_string();
    let email = input.email.trim().to_lowercase();
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(("name", "must not be empty".to_string()));
    } else if name.chars().count() > MAX_NAME {
        errors.push(("name", format!("must be at most {MAX_NAME} characters")));
    }
    if let Err(why) = check_email(&email) {
        errors.push(("email", why));
    }
    if errors.is_empty() {
        Ok(ValidStudent { name, email })
    } else {
        Err(Problem::validation(errors))
    }
}

/// A deliberately simple check: one `@`, a non-empty local part, a dotted domain, no spaces.
fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.len() > MAX_EMAIL {
        return Err(format!("must be at most {MAX_EMAIL} characters"));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
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
        let v = validate(input("  Ada Lovelace ", " Ada@Example.org")).unwrap();
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
        for bad in ["a@b", "@b.org", "a@@b.org", "a b@c.org", "a@.org", "a@org."] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(validate(input(&"x".repeat(201), "a@b.org")).is_err());
    }
}
