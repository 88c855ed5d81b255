CREATE TABLE enrolments (
    subject_id VARCHAR(36) NOT NULL,
    student_id VARCHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject_id, student_id),
    CONSTRAINT enrolments_subject_fk FOREIGN KEY (subject_id) REFERENCES subjects (id)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
