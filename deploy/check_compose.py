#!/usr/bin/env python3
"""Offline checks of deploy/compose.yaml (Docker Compose cannot run in CI).

Checks that the expected services are there and wired together: both services built from
deploy/docker/Dockerfile with their own SERVICE build argument, the published port equal to
PORT, a healthcheck using the `healthcheck` subcommand, depends_on conditions that exist and can
be met, DATABASE_URLs naming databases that the init SQL creates, OTLP endpoints pointing at the
collector, every bind-mounted file present, a collector config with an otlp receiver and a
debug exporter in a traces pipeline, a NATS broker with JetStream on (`-js`) that both services
reach through SERVICEKIT__EVENTS__URL, and a token issuer (SERVICEKIT__AUTH__ISSUERS) on both
services that is either literal and real or a `${VAR:?message}` reference, which compose itself
refuses to leave unset.

Usage: check_compose.py [COMPOSE_FILE]   (default: compose.yaml next to this script)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

from auth_issuers import VARIABLE, check_issuers

# `${NAME}`, `${NAME:-default}`, `${NAME:?message}` ... (compose interpolation).
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
# Stands in for a required variable that is unset here: compose stops at `up` until it is set.
SET_AT_UP = "https://set-at-compose-up.invalid"

SERVICES = {"student-service", "subject-service"}
# The edge in front of both (examples/gateway): no database, a client per service.
GATEWAY = "gateway"
REQUIRED = SERVICES | {GATEWAY, "postgres", "otel-collector", "nats"}
# The broker's service name and client port, as SERVICEKIT__EVENTS__URL must name them.
BROKER = "nats"
BROKER_PORT = 4222
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "compose.yaml"
    base = path.parent
    problems: list[str] = []

    def fail(where: str, message: str) -> None:
        problems.append(f"{path}: {where}: {message}")

    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        print(f"compose check FAILED: cannot read {path}: {e}", file=sys.stderr)
        return 1
    services = (doc or {}).get("services") or {}
    for name in sorted(REQUIRED - set(services)):
        fail("services", f"`{name}` is missing")

    # Bind-mounted files exist.
    for name, svc in services.items():
        for i, vol in enumerate(svc.get("volumes", []) or []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source.startswith((".", "/")) and not (base / source).exists():
                fail(f"{name}.volumes[{i}]", f"bind source {source!r} does not exist")

    # depends_on: known services, valid conditions, healthchecks where health is awaited.
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            if dep not in services:
                fail(f"{name}.depends_on", f"`{dep}` is not a service")
                continue
            cond = (spec or {}).get("condition", "service_started")
            if cond not in CONDITIONS:
                fail(f"{name}.depends_on.{dep}", f"unknown condition {cond!r}")
            if cond == "service_healthy" and not services[dep].get("healthcheck"):
                fail(f"{name}.depends_on.{dep}", "waits for health, but it has no healthcheck")
            if "profiles" in services[dep] and "profiles" not in svc:
                fail(f"{name}.depends_on.{dep}", "depends on a service that is only in a profile")

    # The init SQL creates the databases the services connect to.
    init_sql = ""
    for vol in (services.get("postgres") or {}).get("volumes", []) or []:
        if isinstance(vol, str) and "docker-entrypoint-initdb.d" in vol:
            source = base / vol.split(":", 1)[0]
            if source.exists():
                init_sql += source.read_text()
    created = set(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)", init_sql, re.IGNORECASE))
    pg_image = str((services.get("postgres") or {}).get("image", ""))
    if not re.match(r"^postgres:16([.-]|$)", pg_image):
        fail("postgres.image", f"expected PostgreSQL 16, found {pg_image!r}")

    for name in sorted(SERVICES & set(services)):
        svc = services[name]
        build = svc.get("build") or {}
        if not isinstance(build, dict):
            fail(f"{name}.build", "must give context, dockerfile and args")
            continue
        dockerfile = base / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        if dockerfile.resolve() != (base / "docker" / "Dockerfile").resolve():
            fail(f"{name}.build", f"must build deploy/docker/Dockerfile, found {dockerfile}")
        elif not dockerfile.exists():
            fail(f"{name}.build", f"{dockerfile} does not exist")
        args = build.get("args") or {}
        if args.get("SERVICE") != name:
            fail(f"{name}.build.args.SERVICE", f"must be {name!r}, found {args.get('SERVICE')!r}")
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        port = str(env.get("PORT", ""))
        if not port.isdigit():
            fail(f"{name}.environment.PORT", "must be set to the service's port")
        elif str(args.get("PORT")) != port:
            fail(f"{name}.build.args.PORT", f"must equal PORT ({port}), found {args.get('PORT')!r}")
        published = [str(p).rsplit(":", 1)[-1] for p in svc.get("ports", [])]
        if port not in published:
            fail(f"{name}.ports", f"container port {port} (PORT) is not published: {published}")
        test = (svc.get("healthcheck") or {}).get("test") or []
        if "healthcheck" not in test:
            fail(f"{name}.healthcheck", "must run the service's `healthcheck` subcommand")
        grace = str(svc.get("stop_grace_period", ""))
        if not re.fullmatch(r"\d+s", grace) or int(grace[:-1]) < 45:
            fail(f"{name}.stop_grace_period", "must be at least 45s (drain delay + shutdown "
                 f"timeout + pool close + trace flush); docker's default is 10s; found {grace!r}")
        db = urlparse(str(env.get("DATABASE_URL", "")))
        if db.scheme not in ("postgres", "postgresql") or db.hostname != "postgres":
            fail(f"{name}.environment.DATABASE_URL", "must point at the postgres service")
        elif db.path.lstrip("/") not in created:
            fail(f"{name}.environment.DATABASE_URL",
                 f"database {db.path.lstrip('/')!r} is not created by the init SQL ({sorted(created)})")
        issuers = env.get(VARIABLE)
        if issuers is not None:
            issuers, unsafe = interpolate(str(issuers))
            for var in unsafe:
                fail(f"{name}.environment.{VARIABLE}",
                     f"`{var}` may be left unset or defaulted: write ${{{var}:?message}} so "
                     "that compose refuses to start without it")
        for problem in check_issuers(issuers):
            fail(f"{name}.environment", problem)
        events = urlparse(str(env.get("SERVICEKIT__EVENTS__URL", "")))
        if events.scheme != "nats" or events.hostname != BROKER or \
                (events.port or BROKER_PORT) != BROKER_PORT:
            fail(f"{name}.environment.SERVICEKIT__EVENTS__URL",
                 f"must be nats://{BROKER}:{BROKER_PORT} (the broker service), "
                 f"found {env.get('SERVICEKIT__EVENTS__URL')!r}")
        otlp = urlparse(str(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")))
        if otlp.hostname != "otel-collector":
            fail(f"{name}.environment.OTEL_EXPORTER_OTLP_ENDPOINT",
                 "must point at the otel-collector service")

    # The gateway: the common image, its port, a verified issuer, and a client per service at
    # the service's own port.
    gateway = services.get(GATEWAY) or {}
    build = gateway.get("build") or {}
    args = build.get("args") or {} if isinstance(build, dict) else {}
    genv = gateway.get("environment") or {}
    if isinstance(genv, list):
        genv = dict(e.split("=", 1) for e in genv)
    if GATEWAY in services:
        if args.get("SERVICE") != GATEWAY:
            fail(f"{GATEWAY}.build.args.SERVICE", f"must be {GATEWAY!r}")
        port = str(genv.get("PORT", ""))
        if not port.isdigit() or str(args.get("PORT")) != port:
            fail(f"{GATEWAY}.environment.PORT", "must be set and equal build.args.PORT")
        elif port not in [str(p).rsplit(":", 1)[-1] for p in gateway.get("ports", [])]:
            fail(f"{GATEWAY}.ports", f"container port {port} (PORT) is not published")
        if "healthcheck" not in ((gateway.get("healthcheck") or {}).get("test") or []):
            fail(f"{GATEWAY}.healthcheck", "must run the service's `healthcheck` subcommand")
        issuers, _ = interpolate(str(genv.get(VARIABLE, "")))
        for problem in check_issuers(issuers if VARIABLE in genv else None):
            fail(f"{GATEWAY}.environment", problem)
        for upstream in sorted(SERVICES):
            var = f"SERVICEKIT__CLIENTS__{upstream.upper()}__BASE_URL"
            url = urlparse(str(genv.get(var, "")))
            senv = (services.get(upstream) or {}).get("environment") or {}
            if isinstance(senv, list):
                senv = dict(e.split("=", 1) for e in senv)
            if url.hostname != upstream or str(url.port) != str(senv.get("PORT")):
                fail(f"{GATEWAY}.environment.{var}",
                     f"must be http://{upstream}:<its PORT>, found {genv.get(var)!r}")
            if upstream not in (gateway.get("depends_on") or {}):
                fail(f"{GATEWAY}.depends_on", f"must wait for {upstream}")

    # The broker runs JetStream: without `-js` (or `--jetstream`) there are no streams, and
    # every publish of the outbox relay fails.
    broker = services.get(BROKER) or {}
    command = broker.get("command") or []
    if isinstance(command, str):
        command = command.split()
    if not {"-js", "--jetstream"} & set(map(str, command)):
        fail(f"{BROKER}.command", f"must switch JetStream on (`-js`), found {command!r}")
    if not str(broker.get("image", "")).startswith("nats:"):
        fail(f"{BROKER}.image", f"expected the nats image, found {broker.get('image')!r}")
    if BROKER in services:
        published = [str(p).rsplit(":", 1)[-1] for p in broker.get("ports", [])]
        if str(BROKER_PORT) not in published:
            fail(f"{BROKER}.ports", f"client port {BROKER_PORT} is not published: {published}")

    # The collector's config: otlp in, debug out, for traces.
    collector = services.get("otel-collector") or {}
    config = None
    for vol in collector.get("volumes", []) or []:
        if isinstance(vol, str) and vol.endswith((".yaml:ro", ".yaml", ".yml:ro", ".yml")):
            config = base / vol.split(":", 1)[0]
    if config is None or not config.exists():
        fail("otel-collector.volumes", "mounts no collector config file")
    else:
        try:
            cfg = yaml.safe_load(config.read_text()) or {}
        except yaml.YAMLError as e:
            fail("otel-collector", f"cannot parse {config}: {e}")
            cfg = {}
        traces = ((cfg.get("service") or {}).get("pipelines") or {}).get("traces") or {}
        if "otlp" not in (cfg.get("receivers") or {}) or "otlp" not in traces.get("receivers", []):
            fail(str(config), "needs an `otlp` receiver in the traces pipeline")
        if "debug" not in (cfg.get("exporters") or {}) or "debug" not in traces.get("exporters", []):
            fail(str(config), "needs the `debug` exporter in the traces pipeline")
        for kind in ("receivers", "processors", "exporters"):
            for used in traces.get(kind, []):
                if used not in (cfg.get(kind) or {}):
                    fail(str(config), f"traces pipeline uses {kind[:-1]} `{used}`, not defined")

    if problems:
        print(f"compose check FAILED ({len(problems)} problems):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"ok  {path} ({', '.join(sorted(services))})")
    return 0


def interpolate(value: str) -> tuple[str, list[str]]:
    """Expands compose's `${...}` references from this process's environment, as `docker compose`
    would. Returns the value and the variables that could be left unset or fall back to a default
    (anything but a set variable or `${NAME:?message}`)."""
    import os

    unsafe: list[str] = []

    def expand(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        current = os.environ.get(name)
        if current:
            return current
        if op in (":?", "?"):
            return SET_AT_UP
        unsafe.append(name)
        return arg if op in (":-", "-") else ""

    return INTERPOLATION.sub(expand, value), unsafe


if __name__ == "__main__":
    sys.exit(main(sys.argv))
