CREATE TABLE enrolments (
    subject_id VARCHAR(36) NOT NULL REFERENCES subjects (id),
    student_id VARCHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject_id, student_id)
);
