{% if database == "postgres" %}-- Native types for the typed pool: UUID and TIMESTAMPTZ.
CREATE TABLE items (
    id UUID PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
{% else %}CREATE TABLE items (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL
);
{% endif %}
