//! Integration tests of a servicekit service's standard behaviour, through real HTTP on port 0.

mod database;
mod deadlines;
mod errors;
mod health;
mod lifecycle;
mod request_head;
mod request_id;
mod secrets;
mod startup_errors;
