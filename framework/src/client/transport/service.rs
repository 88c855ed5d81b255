use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use tower::Service;

use super::TransportError;
use crate::BoxError;
use crate::client::discovery::{Endpoint, Instances, Tried};
use crate::client::propagation;
use crate::server::Deadline;

/// Sends attempts to the downstream's instances with reqwest; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
    instances: Arc<Instances>,
    max_body: u64,
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, instances: Arc<Instances>, max_body: u64) -> Self {
        Self {
            http,
            instances,
            max_body,
        }
    }
}

impl Service<Request<Bytes>> for Transport {
    type Response = Response<Bytes>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Bytes>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let transport = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (endpoint, mut request) = transport.prepare(parts).await?;
            if !body.is_empty() {
                *request.body_mut() = Some(body.into());
            }
            let in_flight = endpoint.start(transport.instances.ejection().clone());
            let http = endpoint.http().unwrap_or(&transport.http);
            let result = send(http, request, transport.limit()).await;
            let failed = result
                .as_ref()
                .map_or(true, |res| res.status().is_server_error());
            in_flight.finish(failed);
            result.map_err(Into::into)
        })
    }
}

impl Transport {
    /// Picks the instance for one attempt (another than those the call tried, when it can)
    /// and builds the request to it, without a body.
    pub(super) async fn prepare(
        &self,
        parts: http::request::Parts,
    ) -> Result<(Arc<Endpoint>, reqwest::Request), TransportError> {
        let tried = parts.extensions.get::<Tried>();
        let endpoint = self
            .instances
            .pick(tried)
            .await
            .ok_or_else(TransportError::no_instance)?;
        if let Some(tried) = tried {
            tried.push(endpoint.base());
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let url = endpoint.url_for(path).map_err(TransportError::url)?;
        let mut request = reqwest::Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        if let Some(deadline) = parts.extensions.get::<Deadline>() {
            propagation::set_deadline(request.headers_mut(), *deadline);
        }
        Ok((endpoint, request))
    }

    /// The instances' shared reqwest client and ejection policy.
    pub(super) fn instances(&self) -> &Instances {
        &self.instances
    }

    /// The shared reqwest client (instances found by DNS have their own).
    pub(super) fn shared_http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The answer's body limit (`max_response_bytes`).
    pub(super) fn limit(&self) -> BodyLimit<'_> {
        BodyLimit {
            client: &self.instances.ejection().name,
            max: self.max_body,
        }
    }
}

/// The most body bytes one answer may have, and the client it is configured for.
pub(super) struct BodyLimit<'a> {
    pub(super) client: &'a str,
    pub(super) max: u64,
}

async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: BodyLimit<'_>,
) -> Result<Response<Bytes>, TransportError> {
    let mut res = http.execute(request).await.map_err(TransportError::send)?;
    let too_large = || TransportError::too_large(limit.client, limit.max);
    if res.content_length().is_some_and(|len| len > limit.max) {
        return Err(too_large());
    }
    let mut builder = Response::builder()
        .status(res.status())
        .version(res.version());
    if let Some(headers) = builder.headers_mut() {
        *headers = res.headers().clone();
    }
    // Read chunk by chunk: a body without (or with a lying) Content-Length is cut at the limit.
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = res.chunk().await.map_err(TransportError::body)? {
        if body.len() as u64 + chunk.len() as u64 > limit.max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    Ok(builder
        .body(body)
        .expect("status, version and headers come from a valid response"))
}
