//! Prints signed bearer tokens for the JWT cases:
//! `mint-token ES256|RS256 <private-key.pem> [count]` (PKCS#8 PEM, as `openssl genpkey` writes).
//! Each token names [`ISSUER`], [`AUDIENCE`] and the scope [`READ_SCOPE`], and expires in a day.
//! With `count` (default 1) it prints that many distinct tokens, one a line (each with its own
//! `jti`), for the case that rotates through many valid tokens (C-many).

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use servicekit_bench::{AUDIENCE, ISSUER, READ_SCOPE};

fn main() -> ExitCode {
    match mint() {
        Ok(tokens) => {
            println!("{}", tokens.join("\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mint-token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn mint() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (alg, key_path, count) = match args.as_slice() {
        [alg, key_path] => (alg, key_path, 1),
        [alg, key_path, count] => {
            let count: u32 = count
                .parse()
                .map_err(|_| format!("count {count:?} is not a positive number"))?;
            (alg, key_path, count)
        }
        _ => return Err("usage: mint-token ES256|RS256 <private-key.pem> [count]".into()),
    };
    let pem = std::fs::read(key_path).map_err(|e| format!("{key_path}: {e}"))?;
    let (algorithm, key) = match alg.as_str() {
        "ES256" => (Algorithm::ES256, EncodingKey::from_ec_pem(&pem)?),
        "RS256" => (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem)?),
        other => return Err(format!("unsupported algorithm {other}: use ES256 or RS256").into()),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut header = Header::new(algorithm);
    header.typ = Some("JWT".to_string());
    (0..count)
        .map(|jti| {
            let claims = serde_json::json!({
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "bench-user",
                "scope": READ_SCOPE,
                "iat": now,
                "exp": now + 86_400,
                "jti": jti.to_string(),
            });
            Ok(jsonwebtoken::encode(&header, &claims, &key)?)
        })
        .collect()
}
