CREATE TABLE students (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    email VARCHAR(320) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY students_email_key (email)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
