//! `[app.cors]` as tower-http's `CorsLayer`, outside auth so that preflights need no token.

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::settings::CorsConfig;

/// The layer for `config`, `None` when no origin is allowed; the error names the key.
pub fn layer(config: &CorsConfig) -> Result<Option<CorsLayer>, String> {
    if config.allowed_origins.is_empty() {
        return Ok(None);
    }
    let any = config.allowed_origins.iter().any(|o| o == "*");
    if any && config.allow_credentials {
        return Err(
            "app.cors.allowed_origins: `*` cannot go with allow_credentials = true \
                    (browsers refuse it); list the origins, e.g. [\"https://app.example.org\"]"
                .into(),
        );
    }
    let origins = if any {
        AllowOrigin::any()
    } else {
        let list = config
            .allowed_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    format!("app.cors.allowed_origins: `{o}` is not an origin; write it as `https://app.example.org`")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    let methods = config
        .allowed_methods
        .iter()
        .map(|m| {
            Method::from_bytes(m.as_bytes())
                .map_err(|_| format!("app.cors.allowed_methods: `{m}` is not an HTTP method"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let headers = config
        .allowed_headers
        .iter()
        .map(|h| {
            HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| format!("app.cors.allowed_headers: `{h}` is not a header name"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(methods)
            .allow_headers(headers)
            .allow_credentials(config.allow_credentials)
            .max_age(config.max_age),
    ))
}
