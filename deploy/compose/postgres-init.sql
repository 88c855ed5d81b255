-- Run by the postgres image on its first start (an empty data volume), as POSTGRES_USER.
-- One database per service, as in production; both owned by the local user `servicekit`.
CREATE DATABASE students OWNER servicekit;
CREATE DATABASE subjects OWNER servicekit;
