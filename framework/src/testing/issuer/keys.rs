//! Signing keys of the test issuer, generated with aws-lc-rs.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

/// A private key with its public JWK and PEM.
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: serde_json::Value,
    pub(crate) public_pem: String,
}

/// PEM text of `der` under `label`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Generates a key for `alg` (RS256, ES256 or EdDSA) published as `kid`.
///
/// # Panics
/// On another algorithm, or if the crypto library fails (test support only).
pub(crate) fn generate(alg: Algorithm, kid: &str) -> SigningKey {
    let (encoding, public_der) = match alg {
        Algorithm::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
            let pkcs8 =
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("RSA PKCS#8 export");
            let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())
                .expect("RSA encoding key");
            let public = pair.public_key().as_der().expect("RSA public key export");
            (encoding, public.as_ref().to_vec())
        }
        Algorithm::ES256 => {
            let rng = SystemRandom::new();
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .expect("EC key generation");
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                .expect("EC key parse");
            let public = pair.public_key().as_der().expect("EC public key export");
            (
                EncodingKey::from_ec_der(doc.as_ref()),
                public.as_ref().to_vec(),
            )
        }
        Algorithm::EdDSA => {
            let rng = SystemRandom::new();
            let doc = Ed25519KeyPair::generate_pkcs8v1(&rng).expect("Ed25519 key generation");
            let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("Ed25519 key parse");
            let public = pair
                .public_key()
                .as_der()
                .expect("Ed25519 public key export");
            (
                EncodingKey::from_ed_der(doc.as_ref()),
                public.as_ref().to_vec(),
            )
        }
        other => panic!("the test issuer signs with RS256, ES256, EdDSA or HS256, not {other:?}"),
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("public JWK");
    jwk.common.key_id = Some(kid.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    SigningKey {
        kid: kid.to_string(),
        alg,
        encoding,
        jwk: serde_json::to_value(jwk).expect("JWK serializes"),
        public_pem: pem("PUBLIC KEY", &public_der),
    }
}

/// The first key of each algorithm, generated once per process (RSA generation is slow).
pub(crate) fn initial() -> Vec<SigningKey> {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            (Algorithm::RS256, "rs256-1"),
            (Algorithm::ES256, "es256-1"),
            (Algorithm::EdDSA, "eddsa-1"),
        ]
        .into_iter()
        .map(|(alg, kid)| generate(alg, kid))
        .collect()
    })
    .clone()
}
