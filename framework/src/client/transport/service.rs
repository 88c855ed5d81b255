use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use tower::Service;

use super::TransportError;
use crate::BoxError;
use crate::client::discovery::{Instances, Tried};
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
        let shared = self.http.clone();
        let instances = self.instances.clone();
        let max_body = self.max_body;
        Box::pin(async move {
            let tried = req.extensions().get::<Tried>().cloned();
            let endpoint = instances
                .pick(tried.as_ref())
                .await
                .ok_or_else(TransportError::no_instance)?;
            if let Some(tried) = &tried {
                tried.push(endpoint.base());
            }
            let (parts, body) = req.into_parts();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let url = endpoint.url_for(path).map_err(TransportError::url)?;
            let mut request = reqwest::Request::new(parts.method, url);
            *request.headers_mut() = parts.headers;
            if let Some(deadline) = parts.extensions.get::<Deadline>() {
                propagation::set_deadline(request.headers_mut(), *deadline);
            }
            if !body.is_empty() {
                *request.body_mut() = Some(body.into());
            }

            let in_flight = endpoint.start(instances.ejection().clone());
            let http = endpoint.http().unwrap_or(&shared);
            let limit = BodyLimit {
                client: &instances.ejection().name,
                max: max_body,
            };
            let result = send(http, request, limit).await;
            let failed = result
                .as_ref()
                .map_or(true, |res| res.status().is_server_error());
            in_flight.finish(failed);
            result.map_err(Into::into)
        })
    }
}

/// The most body bytes one answer may have, and the client it is configured for.
struct BodyLimit<'a> {
    client: &'a str,
    max: u64,
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
