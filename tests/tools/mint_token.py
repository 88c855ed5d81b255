"""Mints an ES256 access token for scripts/api-fuzz with PyJWT, an implementation independent
of servicekit's: mint_token.py PRIVATE_KEY_PEM ISSUER AUDIENCE SCOPE..."""
import sys
import time

import jwt

key_file, issuer, audience, *scopes = sys.argv[1:]
with open(key_file, "rb") as f:
    key = f.read()
now = int(time.time())
claims = {
    "iss": issuer,
    "aud": audience,
    "sub": "api-fuzz",
    "scope": " ".join(scopes),
    "iat": now,
    "exp": now + 3600,
}
print(jwt.encode(claims, key, algorithm="ES256", headers={"typ": "JWT"}))
