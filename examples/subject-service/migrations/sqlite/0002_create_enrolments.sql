CREATE TABLE enrolments (
    subject_id TEXT NOT NULL,
    student_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject_id, student_id)
);
