//! `file:///path`: a secret from a file, as Kubernetes and Docker mount them.

use std::io::ErrorKind;
use std::path::Path;

use super::{FetchFuture, SecretError, SecretErrorKind, SecretProvider, SecretRef, SecretValue};

/// Reads `file:///run/secrets/db-password` (absolute) or `file://secrets/x` (relative to the
/// working directory), dropping one trailing newline (`\n` or `\r\n`), which editors and
/// `echo` add and no password means.
///
/// Mounted secrets are re-read at each refresh, so a Kubernetes secret update (an atomic
/// symlink swap) is picked up without a restart.
///
/// ```no_run
/// # async fn f() {
/// use servicekit::secrets::{FileProvider, SecretProvider, SecretRef};
///
/// let reference = SecretRef::parse("file:///run/secrets/db-password").unwrap();
/// let value = FileProvider.fetch(&reference).await.unwrap();
/// # let _ = value;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FileProvider;

impl SecretProvider for FileProvider {
    fn scheme(&self) -> &str {
        "file"
    }

    fn name(&self) -> &str {
        "file"
    }

    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a> {
        Box::pin(async move {
            reference.only_params(self.name(), &[])?;
            let path = Path::new(reference.location());
            let mut bytes = tokio::fs::read(path).await.map_err(|e| {
                let kind = match e.kind() {
                    ErrorKind::NotFound => SecretErrorKind::NotFound,
                    ErrorKind::PermissionDenied => SecretErrorKind::AccessDenied,
                    _ => SecretErrorKind::Other,
                };
                SecretError::new(
                    kind,
                    reference,
                    "file",
                    format!("cannot read `{}`: {e}", path.display()),
                )
            })?;
            trim_one_newline(&mut bytes);
            Ok(SecretValue::new(bytes))
        })
    }
}

/// Drops one trailing `\n` or `\r\n`.
fn trim_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(body: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, body).unwrap();
        let reference = SecretRef::parse(&format!("file://{}", path.display())).unwrap();
        let value = FileProvider.fetch(&reference).await.unwrap();
        value.value.expose_bytes().to_vec()
    }

    #[tokio::test]
    async fn trims_exactly_one_trailing_newline() {
        assert_eq!(read(b"pw\n").await, b"pw");
        assert_eq!(read(b"pw\r\n").await, b"pw");
        assert_eq!(read(b"pw\n\n").await, b"pw\n");
        assert_eq!(read(b" pw ").await, b" pw ");
        assert_eq!(read(&[0, 159, 146, 150]).await, &[0, 159, 146, 150]);
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found_and_named() {
        let reference = SecretRef::parse("file:///nonexistent/servicekit/secret").unwrap();
        let err = FileProvider.fetch(&reference).await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::NotFound);
        assert!(
            err.message().contains("/nonexistent/servicekit/secret"),
            "{err}"
        );
        assert!(err.to_string().contains("(file provider)"), "{err}");
    }
}
