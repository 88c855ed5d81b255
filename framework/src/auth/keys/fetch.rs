//! Fetching JSON documents from an issuer: the discovery document and the key set.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::key::{KeySet, VerifyKey};

/// Largest discovery document or key set accepted, in bytes.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// GETs `url` and parses its JSON body, refusing bodies over 1 MiB.
pub(crate) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let mut response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url} failed: {}", error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(format!("GET {url} answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading {url} failed: {}", error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!("{url} returned more than {MAX_DOCUMENT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url} is not the expected JSON: {e}"))
}

/// The parts of an OpenID Provider's discovery document servicekit uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discovery {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: String,
    #[serde(default)]
    pub(crate) token_endpoint: Option<String>,
}

/// The discovery URL of `issuer`.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches `issuer`'s discovery document, checking that it names the same issuer.
pub(crate) async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, String> {
    let doc: Discovery = get_json(http, &discovery_url(issuer)).await?;
    if doc.issuer != issuer {
        return Err(format!(
            "the discovery document names issuer `{}`, not `{issuer}`",
            doc.issuer
        ));
    }
    Ok(doc)
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

/// Fetches a JSON Web Key Set; keys that cannot verify signatures are skipped.
pub(crate) async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<KeySet, String> {
    let raw: RawSet = get_json(http, url).await?;
    Ok(parse_keys(raw.keys))
}

fn parse_keys(raw: Vec<serde_json::Value>) -> KeySet {
    let keys = raw
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .filter_map(|jwk| VerifyKey::from_jwk(&jwk))
        .collect();
    KeySet { keys }
}

/// `error` and its sources, joined, for one-line logs and health output.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_ignores_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://idp.example.org/realms/x/"),
            "https://idp.example.org/realms/x/.well-known/openid-configuration"
        );
    }

    #[test]
    fn unusable_keys_are_skipped_not_fatal() {
        let set = parse_keys(vec![
            serde_json::json!({"kty": "weird"}),
            serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "e1",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
        ]);
        assert_eq!(set.keys.len(), 1);
        assert!(set.find("e1").is_some());
    }
}
