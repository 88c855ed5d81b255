//! What a service publishes and what its handlers receive.

use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An event type: a serde type with a CloudEvents `type` and an aggregate key.
///
/// ```
/// use servicekit::events::Event;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct StudentDeleted {
///     id: uuid::Uuid,
/// }
///
/// impl Event for StudentDeleted {
///     const TYPE: &'static str = "student.deleted";
///     fn key(&self) -> String {
///         self.id.to_string()
///     }
/// }
/// ```
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The CloudEvents `type`, such as `student.deleted`; it selects the subject, routing key
    /// or message attribute the event travels under (letters, digits, `.`, `-`, `_`).
    const TYPE: &'static str;

    /// The aggregate key (CloudEvents `subject`): events with one key are published and
    /// handled in the order they were staged.
    fn key(&self) -> String;
}

/// One delivered event, as a handler receives it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received<E> {
    /// The event's data.
    pub data: E,
    /// The CloudEvents `id` (a UUID v7): the same on every redelivery.
    pub id: String,
    /// The CloudEvents `source`: the publishing service's name.
    pub source: String,
    /// When the event was staged.
    pub time: SystemTime,
    /// The CloudEvents `subject`: the aggregate key.
    pub subject: Option<String>,
    /// 1 on the first delivery, more on redeliveries.
    pub attempt: u32,
}
