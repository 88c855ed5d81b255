{% if database == "mysql" %}-- Native types for the typed pool: UUID as BINARY(16), TIMESTAMP(6) in UTC (sqlx sets the
-- session time zone to +00:00).
CREATE TABLE items (
    id BINARY(16) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
{% else %}CREATE TABLE items (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL
);
{% endif %}
