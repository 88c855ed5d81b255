-- A deleted student's enrolments are found by student (the `student.deleted` event handler).
CREATE INDEX enrolments_student_id ON enrolments (student_id);
