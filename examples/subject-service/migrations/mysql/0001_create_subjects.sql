CREATE TABLE subjects (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    code VARCHAR(20) NOT NULL,
    title VARCHAR(200) NOT NULL,
    credits BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY subjects_code_key (code)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
