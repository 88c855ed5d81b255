//! `events.url` for SNS + SQS, and the two SDK clients built from it and `[events.aws]`.

use aws_sdk_sns::config::Credentials;
use secrecy::ExposeSecret;

use crate::events::transport::{Connect, TransportError};

/// The SNS and SQS clients of one transport.
#[derive(Debug, Clone)]
pub(super) struct Clients {
    pub(super) sns: aws_sdk_sns::Client,
    pub(super) sqs: aws_sdk_sqs::Client,
}

/// Parses `sns://` or `sqs://` with an optional `?region=<region>` (which `[events.aws]
/// region` overrides). Anything else is a malformed URL.
pub(super) fn url_region(settings: &Connect) -> Result<Option<String>, TransportError> {
    let refused = |why: &str| {
        TransportError::Refused(
            format!(
                "events.url: {why}; fix: use `sns://` (region and endpoint from [events.aws] or \
                 the standard AWS chain) or `sns://?region=eu-west-1`"
            )
            .into(),
        )
    };
    let url = url::Url::parse(settings.url.expose_secret())
        .map_err(|e| refused(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "sns" | "sqs") {
        return Err(refused("the scheme is not `sns` or `sqs`"));
    }
    if url.host_str().is_some_and(|h| !h.is_empty())
        || !matches!(url.path(), "" | "/")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(refused("SNS + SQS URLs have no host, path or user"));
    }
    let mut region = None;
    for (key, value) in url.query_pairs() {
        match &*key {
            "region" if !value.is_empty() => region = Some(value.into_owned()),
            other => return Err(refused(&format!("unknown or empty parameter `{other}`"))),
        }
    }
    Ok(region)
}

/// Builds both clients; reads the standard AWS chain (unless `credentials` and a region are
/// given), contacts no endpoint.
pub(super) async fn clients(
    settings: &Connect,
    url_region: Option<String>,
    credentials: Option<Credentials>,
) -> Clients {
    let region = settings.aws_region.clone().or(url_region);
    let isolated = region.is_some() && credentials.is_some();
    let mut loader = crate::aws_sdk::loader(region.as_deref(), isolated);
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    let shared = loader.load().await;
    // `From<&SdkConfig>` applies AWS_ENDPOINT_URL_SNS / _SQS and AWS_ENDPOINT_URL.
    let mut sns = aws_sdk_sns::config::Builder::from(&shared);
    let mut sqs = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(endpoint) = &settings.aws_endpoint_url {
        sns = sns.endpoint_url(endpoint);
        sqs = sqs.endpoint_url(endpoint);
    }
    Clients {
        sns: aws_sdk_sns::Client::from_conf(sns.build()),
        sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn connect(url: &str) -> Connect {
        Connect {
            url: url.to_owned().into(),
            prefix: None,
            service: "s".into(),
            timeout: Duration::from_secs(1),
            aws_region: None,
            aws_endpoint_url: None,
        }
    }

    #[test]
    fn urls_take_an_optional_region_only() {
        assert_eq!(url_region(&connect("sns://")).unwrap(), None);
        assert_eq!(url_region(&connect("sqs://")).unwrap(), None);
        assert_eq!(
            url_region(&connect("sns://?region=eu-west-1"))
                .unwrap()
                .as_deref(),
            Some("eu-west-1")
        );
        for bad in [
            "nats://x",
            "sns://host",
            "sns://?queue=x",
            "sns:///path",
            "nonsense",
        ] {
            let err = url_region(&connect(bad)).unwrap_err();
            assert!(matches!(err, TransportError::Refused(_)), "{bad}");
            assert!(err.to_string().contains("events.url"), "{bad}: {err}");
        }
    }
}
