use std::fmt;

/// The call's deadline passed before it completed (or before it started).
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineExceeded {
    _priv: (),
}

impl DeadlineExceeded {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the call's deadline passed")
    }
}

impl std::error::Error for DeadlineExceeded {}
