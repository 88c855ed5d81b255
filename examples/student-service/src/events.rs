//! The events student-service publishes, staged in its outbox in the transaction of the write
//! they announce (see [`crate::repo`]), so that an event goes out when, and only when, its
//! change commits (at least once; consumers deduplicate by event id).
//!
//! | type | data | key |
//! |---|---|---|
//! | `student.created` | the [`Student`], as `GET /students/{id}` returns it | the student's id |
//! | `student.updated` | the [`Student`] after the update | the student's id |
//! | `student.deleted` | `{"id": "<the student's id>"}` | the student's id |
//!
//! Keying every event by the student's id keeps one student's events in order: a consumer never
//! sees `student.updated` after the `student.deleted` of the same student.

use serde::{Deserialize, Serialize};
use servicekit::events::Event;

use crate::model::Student;

/// `student.created`: a student was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StudentCreated {
    /// The new student.
    pub student: Student,
}

/// `student.updated`: a student's name or email changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StudentUpdated {
    /// The student as it is now.
    pub student: Student,
}

/// `student.deleted`: a student was deleted; consumers drop what refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentDeleted {
    /// The deleted student's id (a UUID).
    pub id: String,
}

impl Event for StudentCreated {
    const TYPE: &'static str = "student.created";

    fn key(&self) -> String {
        self.student.id.clone()
    }
}

impl Event for StudentUpdated {
    const TYPE: &'static str = "student.updated";

    fn key(&self) -> String {
        self.student.id.clone()
    }
}

impl Event for StudentDeleted {
    const TYPE: &'static str = "student.deleted";

    fn key(&self) -> String {
        self.id.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ada() -> Student {
        Student {
            id: "0190b6a6-0000-7000-8000-000000000001".into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.org".into(),
            created_at: 1_700_000_000_123,
            updated_at: 1_700_000_000_456,
        }
    }

    #[test]
    fn created_and_updated_carry_the_student_as_the_api_shows_it() {
        let created = StudentCreated { student: ada() };
        let data = serde_json::to_value(&created).unwrap();
        assert_eq!(data, serde_json::to_value(ada()).unwrap());
        assert_eq!(data["created_at"], "2023-11-14T22:13:20.123Z");
        let back: StudentUpdated = serde_json::from_value(data).unwrap();
        assert_eq!(back.student, ada());
        assert_eq!(created.key(), ada().id);
        assert_eq!(back.key(), ada().id);
    }

    #[test]
    fn deleted_carries_the_id() {
        let deleted = StudentDeleted { id: ada().id };
        assert_eq!(
            serde_json::to_value(&deleted).unwrap(),
            json!({ "id": ada().id })
        );
        assert_eq!(deleted.key(), ada().id);
    }

    #[test]
    fn the_types_are_distinct_and_namespaced() {
        let types = [
            <StudentCreated as Event>::TYPE,
            <StudentUpdated as Event>::TYPE,
            <StudentDeleted as Event>::TYPE,
        ];
        assert_eq!(
            types,
            ["student.created", "student.updated", "student.deleted"]
        );
    }
}
