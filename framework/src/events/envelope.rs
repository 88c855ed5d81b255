//! CloudEvents 1.0 in JSON structured mode: the body every broker carries.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::Event;

/// The CloudEvents version written and accepted.
pub(crate) const SPEC_VERSION: &str = "1.0";
/// The `datacontenttype` of every event servicekit writes.
pub(crate) const DATA_CONTENT_TYPE: &str = "application/json";

/// One CloudEvent, with its `data` kept as JSON until a handler's type reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) specversion: String,
    pub(crate) id: String,
    pub(crate) source: String,
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) datacontenttype: Option<String>,
    /// The W3C trace context extension of the span that staged the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tracestate: Option<String>,
    #[serde(default)]
    pub(crate) data: serde_json::Value,
}

/// Why a body is not an event a handler can take.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("the body is not a CloudEvents JSON envelope: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported CloudEvents specversion `{0}` (expected 1.0)")]
    Version(String),
}

impl Envelope {
    /// A new envelope for `event` from service `source`, with a UUID v7 id, the current time
    /// and the current span's trace context.
    pub(crate) fn new<E: Event>(source: &str, event: &E) -> Result<Self, serde_json::Error> {
        let trace = crate::telemetry::current_trace_context();
        let header = |name: &str| {
            trace
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Self {
            specversion: SPEC_VERSION.into(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.into(),
            event_type: E::TYPE.into(),
            time: Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
            subject: Some(event.key()),
            datacontenttype: Some(DATA_CONTENT_TYPE.into()),
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            data: serde_json::to_value(event)?,
        })
    }

    /// Reads a body written by [`Envelope::to_json`] (or any CloudEvents 1.0 JSON producer).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope: Self = serde_json::from_slice(body)?;
        if envelope.specversion != SPEC_VERSION {
            return Err(EnvelopeError::Version(envelope.specversion));
        }
        Ok(envelope)
    }

    /// The JSON body.
    pub(crate) fn to_json(&self) -> String {
        // A struct of strings and a JSON value always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `time` as a `SystemTime` (the epoch when absent or unreadable).
    pub(crate) fn time(&self) -> SystemTime {
        self.time
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// The trace context extensions as W3C headers.
    pub(crate) fn trace_headers(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("traceparent", &self.traceparent),
            ("tracestate", &self.tracestate),
        ] {
            if let Some(value) = value
                && let Ok(value) = http::HeaderValue::from_str(value)
            {
                headers.insert(name, value);
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct StudentDeleted {
        id: u32,
    }

    impl Event for StudentDeleted {
        const TYPE: &'static str = "student.deleted";
        fn key(&self) -> String {
            self.id.to_string()
        }
    }

    #[test]
    fn writes_the_cloudevents_attributes() {
        let envelope = Envelope::new("student-service", &StudentDeleted { id: 7 }).unwrap();
        let json: serde_json::Value = serde_json::from_str(&envelope.to_json()).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "student.deleted");
        assert_eq!(json["source"], "student-service");
        assert_eq!(json["subject"], "7");
        assert_eq!(json["datacontenttype"], "application/json");
        assert_eq!(json["data"], serde_json::json!({"id": 7}));
        let id = uuid::Uuid::parse_str(json["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        let time = json["time"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
        // No span with a trace context here: no extension.
        assert!(json.get("traceparent").is_none());
    }

    #[test]
    fn parses_what_it_writes_and_foreign_events() {
        let envelope = Envelope::new("svc", &StudentDeleted { id: 1 }).unwrap();
        let parsed = Envelope::parse(envelope.to_json().as_bytes()).unwrap();
        assert_eq!(parsed, envelope);
        assert!(parsed.time() > SystemTime::UNIX_EPOCH);
        let foreign = br#"{"specversion":"1.0","id":"a","source":"/x","type":"t",
            "traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","data":{"id":3}}"#;
        let parsed = Envelope::parse(foreign).unwrap();
        assert_eq!(parsed.subject, None);
        assert_eq!(parsed.trace_headers().len(), 1);
        let data: StudentDeleted = serde_json::from_value(parsed.data).unwrap();
        assert_eq!(data, StudentDeleted { id: 3 });
    }

    #[test]
    fn refuses_other_versions_and_non_json() {
        assert!(matches!(
            Envelope::parse(br#"{"specversion":"0.3","id":"a","source":"s","type":"t"}"#),
            Err(EnvelopeError::Version(_))
        ));
        assert!(matches!(
            Envelope::parse(b"not json"),
            Err(EnvelopeError::Json(_))
        ));
    }
}
