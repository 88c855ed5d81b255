"""Case G (issue 18): the gateway's overhead. The real student-service (release, SQLite, one
seeded student, auth off, log level warn) answers `GET /students/{id}`

- G-direct: called directly;
- G-gateway: through `examples/gateway` (release, auth off, log level warn, one tokio worker
  thread: `TOKIO_WORKER_THREADS=1`, which the framework's runtime builder honours);
- G-nginx: through nginx (the Debian package) as a reverse proxy, `worker_processes 1`, an
  `upstream` block with `keepalive 64`, `proxy_http_version 1.1`, `Connection ""`, the usual
  `X-Forwarded-*` headers, no access log.

Placement (two cores): the proxy alone on SERVER_CPU; student-service on BENCH_UPSTREAM_CPU
(default: CLIENT_CPU, next to wrk) in all three cases, so the direct call and the proxied ones
differ only by the proxy and its core. The measured process (CPU µs/req, core %, peak RSS) is
the proxy; in G-direct it is student-service. nginx's CPU and RSS are its master's plus its
worker's. The cases run in the rounds of bench/run.py like the others, alternating.
"""

import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass

from . import settings as s
from .cases import Case, servicekit_env
from .procs import BenchError, Server

G_CASES = ("G-direct", "G-gateway", "G-nginx")
UPSTREAM_PORT, UPSTREAM_CPU, NGINX = s.UPSTREAM_PORT, s.UPSTREAM_CPU, s.NGINX


class Chain:
    """A proxy (`front`, the measured process) in front of a started `upstream`."""

    def __init__(self, upstream, front):
        self.upstream, self.front = upstream, front

    def wait_ready(self, path, headers=None, timeout=60.0):
        return self.front.wait_ready(path, headers, timeout)

    def cpu_seconds(self):
        return self.front.cpu_seconds()

    def status_kib(self, key):
        return self.front.status_kib(key)

    def log_bytes(self):
        return self.front.log_bytes()

    def tail(self, lines=20):
        return (f"{self.front.name}:\n{self.front.tail(lines)}\n"
                f"{self.upstream.name}:\n{self.upstream.tail(lines)}")

    def stop(self, keep_log=False):
        try:
            self.front.stop(keep_log)
        finally:
            self.upstream.stop(keep_log)


@dataclass
class ChainCase(Case):
    """A G case: student-service on UPSTREAM_CPU, alone (`argv` None: G-direct, on PORT) or on
    UPSTREAM_PORT behind the proxy `argv` (on SERVER_CPU, PORT)."""

    upstream_env: dict = None
    data: object = None  # student-service's directory (its SQLite file)

    def start(self, workdir, log_dir, prefix=()):
        service = [s.RELEASE / "student-service"]
        if not self.argv:
            env = {**self.upstream_env, "PORT": str(s.PORT)}
            return Server(self.id, service, env, self.data, log_dir, cpu=UPSTREAM_CPU)
        upstream = Server(f"{self.id}-upstream", service, self.upstream_env, self.data,
                          log_dir, cpu=UPSTREAM_CPU, port=UPSTREAM_PORT)
        try:
            upstream.wait_ready("/health/ready")
            front = Server(self.id, self.argv, self.env, self.cwd or workdir, log_dir, prefix)
        except BaseException:
            upstream.stop()
            raise
        return Chain(upstream, front)


def nginx_conf(workdir):
    """nginx's configuration: one worker, a keep-alive upstream pool, everything under
    `workdir/nginx` (temp paths, pid), errors to stderr (the case's log)."""
    root = workdir / "nginx"
    root.mkdir(exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(f"""worker_processes 1;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream student_service {{
        server 127.0.0.1:{UPSTREAM_PORT};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{s.PORT};
        location / {{
            proxy_pass http://student_service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
        }}
    }}
}}
""")
    return conf


def seed(data, env, log_dir):
    """Starts student-service once in `data` (it creates and migrates its SQLite file there),
    creates one student and returns its id."""
    server = Server("G-seed", [s.RELEASE / "student-service"], env, data, log_dir,
                    cpu=UPSTREAM_CPU, port=UPSTREAM_PORT)
    try:
        server.wait_ready("/health/ready")
        body = json.dumps({"name": "Ada Lovelace", "email": "ada@example.org"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{UPSTREAM_PORT}/students", data=body, method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())["id"]
        except urllib.error.HTTPError as e:
            raise BenchError(f"seeding student-service: POST /students answered {e.code}: "
                             f"{e.read()!r}\n{server.tail()}") from e
    finally:
        server.stop()


def gateway_cases(workdir, log_dir):
    """The selected G cases, in the order of a round (direct, gateway, nginx); [] when none
    is selected. Seeds student-service's database once for all rounds."""
    wanted = [c for c in G_CASES if s.selected(c)]
    if not wanted:
        return []
    if "G-nginx" in wanted and shutil.which(NGINX) is None:
        raise BenchError(f"{NGINX} not found on PATH (apt-get install nginx; BENCH_NGINX)")
    data = workdir / "g-student-service"
    data.mkdir()
    upstream_env = {**servicekit_env("warn"), "PORT": str(UPSTREAM_PORT)}
    student = seed(data, upstream_env, log_dir)
    path = f"/students/{student}"
    gateway_env = {
        **servicekit_env("warn"),
        "TOKIO_WORKER_THREADS": "1",
        "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL": f"http://127.0.0.1:{UPSTREAM_PORT}",
    }
    conf = nginx_conf(workdir) if "G-nginx" in wanted else None
    common = {"path": path, "ready": path, "upstream_env": upstream_env, "data": data}
    cases = {
        "G-direct": ChainCase("G-direct", "student-service (SQLite, warn), called directly",
                              [], {}, **common),
        "G-gateway": ChainCase(
            "G-gateway", "student-service behind examples/gateway (1 tokio worker, warn)",
            [s.RELEASE / "gateway"], gateway_env, **common),
        "G-nginx": ChainCase(
            "G-nginx", "student-service behind nginx (1 worker, upstream keepalive)",
            [NGINX, "-e", "stderr", "-c", conf, "-g", "daemon off;"], {}, **common)
        if conf else None,
    }
    return [cases[c] for c in wanted]
