//! One verification key, and the rule that decides which algorithms it may verify.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

/// A public key (or HMAC secret) with what is known about it.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    /// The `kid` it is published under, if any.
    pub(crate) kid: Option<String>,
    /// The key type: an RSA key never verifies an HMAC token and vice versa.
    pub(crate) family: AlgorithmFamily,
    /// The `alg` the JWK is restricted to, if it names one.
    pub(crate) alg: Option<Algorithm>,
    /// The curve of an EC key, which fixes its algorithm (P-256 for ES256, P-384 for ES384).
    pub(crate) curve: Option<EllipticCurve>,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    /// Whether this key may verify a token whose header says `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        if self.family != alg.family() {
            return false;
        }
        if self.alg.is_some_and(|own| own != alg) {
            return false;
        }
        match (&self.curve, alg) {
            (Some(EllipticCurve::P256), a) => a == Algorithm::ES256,
            (Some(EllipticCurve::P384), a) => a == Algorithm::ES384,
            (Some(EllipticCurve::Ed25519), a) => a == Algorithm::EdDSA,
            (Some(_), _) => false,
            (None, _) => true,
        }
    }

    /// An HMAC secret.
    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Self {
            kid: None,
            family: AlgorithmFamily::Hmac,
            alg: None,
            curve: None,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// A key from a published JWK; `None` for keys that cannot verify signatures here:
    /// encryption keys, symmetric keys (a JWKS endpoint must never publish a shared secret),
    /// unsupported types or algorithms.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return None;
        }
        let alg = match jwk.common.key_algorithm {
            Some(a) => Some(Algorithm::try_from(a).ok()?),
            None => None,
        };
        let (family, curve) = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => (AlgorithmFamily::Rsa, None),
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 | EllipticCurve::P384 => {
                    (AlgorithmFamily::Ec, Some(p.curve.clone()))
                }
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => (AlgorithmFamily::Ed, Some(EllipticCurve::Ed25519)),
                _ => return None,
            },
            _ => return None,
        };
        if alg.is_some_and(|a| a.family() != family) {
            return None;
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(Self {
            kid: jwk.common.key_id.clone(),
            family,
            alg,
            curve,
            key,
        })
    }

    /// Keys from PEM text holding one or more public keys (RSA, EC or Ed25519).
    pub(crate) fn from_pem(text: &str) -> Result<Vec<Self>, String> {
        let blocks = pem_blocks(text);
        if blocks.is_empty() {
            return Err("no `-----BEGIN ...-----` block found".into());
        }
        blocks
            .iter()
            .map(|block| {
                let bytes = block.as_bytes();
                if block.contains("PRIVATE KEY") {
                    return Err("is a private key; configure the public key".to_string());
                }
                let attempts: [(AlgorithmFamily, PemParser); 3] = [
                    (AlgorithmFamily::Rsa, DecodingKey::from_rsa_pem),
                    (AlgorithmFamily::Ec, DecodingKey::from_ec_pem),
                    (AlgorithmFamily::Ed, DecodingKey::from_ed_pem),
                ];
                attempts
                    .into_iter()
                    .find_map(|(family, parse)| {
                        parse(bytes).ok().map(|key| Self {
                            kid: None,
                            family,
                            alg: None,
                            curve: None,
                            key,
                        })
                    })
                    .ok_or_else(|| "not an RSA, EC or Ed25519 public key".to_string())
            })
            .collect()
    }
}

/// A jsonwebtoken constructor of a public key from PEM.
type PemParser = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

/// Splits PEM text into its `BEGIN`/`END` blocks.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ")
            && let Some(block) = current.take()
        {
            blocks.push(block);
        }
    }
    blocks
}

/// The keys of one issuer at one moment.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerifyKey>,
}

impl KeySet {
    /// The key published under `kid`.
    pub(crate) fn find(&self, kid: &str) -> Option<&VerifyKey> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// Keys that may verify `alg`, for tokens without a `kid`.
    pub(crate) fn fitting(&self, alg: Algorithm) -> impl Iterator<Item = &VerifyKey> {
        self.keys.iter().filter(move |k| k.fits(alg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: serde_json::Value) -> Jwk {
        serde_json::from_value(json).unwrap()
    }

    const RSA_JWK: &str = r#"{"kty":"RSA","kid":"r1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;

    #[test]
    fn rsa_keys_verify_only_rsa_algorithms() {
        let key = VerifyKey::from_jwk(&serde_json::from_str(RSA_JWK).unwrap()).unwrap();
        assert!(key.fits(Algorithm::RS256));
        assert!(key.fits(Algorithm::PS256));
        assert!(!key.fits(Algorithm::HS256));
        assert!(!key.fits(Algorithm::ES256));
    }

    #[test]
    fn a_jwk_alg_restricts_the_key() {
        let mut value: serde_json::Value = serde_json::from_str(RSA_JWK).unwrap();
        value["alg"] = "RS256".into();
        let key = VerifyKey::from_jwk(&jwk(value)).unwrap();
        assert!(key.fits(Algorithm::RS256));
        assert!(!key.fits(Algorithm::RS512));
    }

    #[test]
    fn symmetric_and_encryption_keys_are_skipped() {
        assert!(
            VerifyKey::from_jwk(&jwk(serde_json::json!({"kty":"oct","k":"c2VjcmV0"}))).is_none()
        );
        let mut value: serde_json::Value = serde_json::from_str(RSA_JWK).unwrap();
        value["use"] = "enc".into();
        assert!(VerifyKey::from_jwk(&jwk(value)).is_none());
    }

    #[test]
    fn hmac_secrets_verify_only_hmac() {
        let key = VerifyKey::hmac(b"secret");
        assert!(key.fits(Algorithm::HS256));
        assert!(!key.fits(Algorithm::RS256));
    }

    #[test]
    fn pem_errors_are_clear() {
        assert!(
            VerifyKey::from_pem("nothing")
                .unwrap_err()
                .contains("BEGIN")
        );
        let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(
            VerifyKey::from_pem(private)
                .unwrap_err()
                .contains("private")
        );
    }
}
