"""Shared by the deploy checks: is `SERVICEKIT__AUTH__ISSUERS` set to a real issuer?

The framework reads that variable as an inline array of `[[auth.issuers]]` tables, in TOML
syntax: `[{issuer = "https://...", audiences = ["..."], discovery = true}]`. Outside `dev` a
service without an issuer does not start; these checks fail earlier, offline, when the value is
missing, malformed, or still a placeholder the operator was meant to replace.
"""

from __future__ import annotations

import re
import tomllib
from urllib.parse import urlparse

VARIABLE = "SERVICEKIT__AUTH__ISSUERS"
# Environments in which a service may run without an issuer.
UNAUTHENTICATED_ENVIRONMENTS = {"dev", "test"}
# Values that were never filled in.
PLACEHOLDER = re.compile(
    r"CHANGE[_-]?ME|REPLACE[_-]?ME|TODO|FIXME|YOUR[_-]|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|\$\([^)]*\)",
    re.IGNORECASE,
)
KEY_SOURCES = ("jwks_url", "discovery", "hs_secret", "pem")


def placeholder(value: str) -> bool:
    """Whether `value` is empty or still a placeholder."""
    return not value.strip() or bool(PLACEHOLDER.search(value))


def check_issuers(value: str | None) -> list[str]:
    """Problems with a `SERVICEKIT__AUTH__ISSUERS` value (already expanded); empty if fine."""
    if value is None:
        return [f"`{VARIABLE}` is not set: the service would not start outside dev "
                "(configure the token issuer, docs/deployment.md)"]
    try:
        issuers = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError as e:
        return [f"`{VARIABLE}` is not an inline array of issuer tables: {e}"]
    if not isinstance(issuers, list) or not issuers:
        return [f"`{VARIABLE}` must list at least one issuer"]
    problems = []
    for i, issuer in enumerate(issuers):
        where = f"{VARIABLE}[{i}]"
        if not isinstance(issuer, dict):
            problems.append(f"{where} must be a table {{issuer = ..., audiences = [...]}}")
            continue
        url = str(issuer.get("issuer", ""))
        if placeholder(url):
            problems.append(f"{where}.issuer is unset (still {url!r}): set your issuer's URL")
        elif urlparse(url).scheme != "https" or not urlparse(url).hostname:
            problems.append(f"{where}.issuer must be an https URL, found {url!r}")
        audiences = issuer.get("audiences")
        if not isinstance(audiences, list) or not audiences:
            problems.append(f"{where}.audiences must list the accepted audience")
        elif any(placeholder(str(a)) for a in audiences):
            problems.append(f"{where}.audiences is unset (still {audiences!r}): set the API "
                            "identifier or client id")
        sources = [k for k in KEY_SOURCES if issuer.get(k) not in (None, False)]
        if len(sources) != 1:
            problems.append(f"{where} must set exactly one of {', '.join(KEY_SOURCES)}")
    return problems


def check_environment(env: dict[str, str | None]) -> list[str]:
    """Problems with a container's environment: outside dev/test it must configure an issuer
    and must not switch auth off."""
    # The images set SERVICEKIT_ENV=prod (deploy/docker/Dockerfile), so unset means prod.
    environment = env.get("SERVICEKIT_ENV") or "prod"
    if environment in UNAUTHENTICATED_ENVIRONMENTS:
        return []
    enabled = str(env.get("SERVICEKIT__AUTH__ENABLED", "")).lower()
    if enabled == "false":
        return [f"SERVICEKIT__AUTH__ENABLED=false in environment {environment!r}: every "
                "request would be served unauthenticated"]
    return check_issuers(env.get(VARIABLE))
