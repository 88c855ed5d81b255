use std::fmt;

/// Every slot of the bulkhead was taken: the attempt was not sent.
#[derive(Debug, Clone, Copy)]
pub struct BulkheadFull {
    max_concurrent: usize,
}

impl BulkheadFull {
    pub(crate) fn new(max_concurrent: usize) -> Self {
        Self { max_concurrent }
    }

    /// The configured limit.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }
}

impl fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} calls already in flight", self.max_concurrent)
    }
}

impl std::error::Error for BulkheadFull {}
