CREATE TABLE events (
    id UUID PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    payload JSONB NOT NULL,
    tags TEXT[] NOT NULL,
    counts BIGINT[] NOT NULL
)
