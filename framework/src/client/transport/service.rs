use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response, header};
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
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, instances: Arc<Instances>) -> Self {
        Self { http, instances }
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
        let http = self.http.clone();
        let instances = self.instances.clone();
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
            if let Some(host) = endpoint.host() {
                request.headers_mut().insert(header::HOST, host.clone());
            }
            if let Some(deadline) = parts.extensions.get::<Deadline>() {
                propagation::set_deadline(request.headers_mut(), *deadline);
            }
            if !body.is_empty() {
                *request.body_mut() = Some(body.into());
            }

            let in_flight = endpoint.start(instances.ejection().clone());
            let result = send(&http, request).await;
            let failed = result
                .as_ref()
                .map_or(true, |res| res.status().is_server_error());
            in_flight.finish(failed);
            result.map_err(Into::into)
        })
    }
}

async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
) -> Result<Response<Bytes>, TransportError> {
    let res = http.execute(request).await.map_err(TransportError::send)?;
    let mut builder = Response::builder()
        .status(res.status())
        .version(res.version());
    if let Some(headers) = builder.headers_mut() {
        *headers = res.headers().clone();
    }
    let body = res.bytes().await.map_err(TransportError::body)?;
    Ok(builder
        .body(body)
        .expect("status, version and headers come from a valid response"))
}
