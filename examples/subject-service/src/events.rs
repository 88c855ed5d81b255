//! The events subject-service consumes: `student.deleted` from student-service, which removes
//! the deleted student's enrolments.
//!
//! The type is subject-service's own reading of the event (only the fields it needs), not a
//! dependency on student-service's crate: the two services share the event's JSON, not code.

use serde::{Deserialize, Serialize};
use servicekit::BoxError;
use servicekit::db::Database;
use servicekit::events::{Event, Events, Received};

use crate::repo;

/// The publisher of the events read here: student-service (its stream / topic / exchange).
pub const STUDENT_EVENTS: &str = "student-service";

/// `student.deleted`: student-service deleted a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentDeleted {
    /// The deleted student's id.
    pub id: String,
}

impl Event for StudentDeleted {
    const TYPE: &'static str = "student.deleted";

    fn key(&self) -> String {
        self.id.clone()
    }
}

/// Registers the handlers: on `student.deleted`, delete the student's enrolments, in the
/// transaction that records the event in the inbox (so a redelivery deletes nothing twice, and
/// a failure retries both).
pub fn subscribe(events: &Events, db: Database) {
    events.on::<StudentDeleted, _>(
        STUDENT_EVENTS,
        move |event: Received<StudentDeleted>, tx| {
            let db = db.clone();
            Box::pin(async move {
                let removed = repo::delete_enrolments_of_student(&db, tx, &event.data.id).await?;
                tracing::info!(
                    student = %event.data.id,
                    enrolments = removed,
                    event = %event.id,
                    "student deleted: enrolments removed"
                );
                Ok::<_, BoxError>(())
            })
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_student_service_publishes() {
        // student-service's `student.deleted` data (its tests pin the same JSON).
        let data = serde_json::json!({ "id": "0190b6a6-0000-7000-8000-000000000001" });
        let event: StudentDeleted = serde_json::from_value(data).unwrap();
        assert_eq!(event.key(), "0190b6a6-0000-7000-8000-000000000001");
        assert_eq!(<StudentDeleted as Event>::TYPE, "student.deleted");
    }
}
