//! The HTTP side: problem+json errors, the standard middleware stack, shutdown signals.

mod deadline;
mod problem;
mod problem_layer;
mod shutdown;
mod stack;

pub use deadline::{DEADLINE_HEADER, Deadline, DeadlineLayer, DeadlineService};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use problem_layer::{ProblemLayer, ProblemService};
pub use shutdown::{Signal, shutdown_signal};
pub use stack::{REQUEST_ID_HEADER, standard_stack};
