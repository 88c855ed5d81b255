#!/usr/bin/env python3
"""Load benchmark of servicekit (issue 8); started by bench/run.sh after the builds.

For each case: start the server pinned to one core, wait until it answers, check one request
returns 200, warm up, then run wrk pinned to the other core and record requests/s, p50, p99,
the server's CPU seconds (utime+stime from /proc/<pid>/stat) and its peak RSS (VmHWM). Then
measure startup (process start to /health/ready 200) and idle RSS of student-service on SQLite
and of the NestJS peer. Writes bench/results/latest.json and latest.md and prints the table.

Every setting comes from the environment (defaults in brackets):
  BENCH_DURATION [15s]   measured run per case        BENCH_WARMUP [3s]   warm-up per case
  BENCH_CONNECTIONS [64] wrk connections              BENCH_THREADS [1]   wrk threads
  BENCH_SERVER_CPU [0]   core of the server           BENCH_CLIENT_CPU [1] core of wrk
  BENCH_PG [postgres://postgres@127.0.0.1:5432]       BENCH_DB [servicekit_bench]
  BENCH_ROWS [1000]      seeded students              BENCH_STARTUP_RUNS [5]
  BENCH_CASES [all]      comma-separated case ids to run (e.g. A,B-info)
"""

import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
NEST = ROOT / "bench" / "nestjs"
RESULTS = ROOT / "bench" / "results"

DURATION = os.environ.get("BENCH_DURATION", "15s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "1")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = os.environ.get("BENCH_DB", "servicekit_bench")
ROWS = int(os.environ.get("BENCH_ROWS", "1000"))
STARTUP_RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "5"))
ONLY = {c for c in os.environ.get("BENCH_CASES", "").split(",") if c}
PORT = 18080
CLK_TCK = os.sysconf("SC_CLK_TCK")
STUDENT_PATH = "/students/0190b3a4-7c00-7000-8000-000000000001"


class BenchError(Exception):
    """A case that could not be measured: the run stops with this message."""


# --- processes -------------------------------------------------------------------------------


class Server:
    """A server process pinned to SERVER_CPU, its output in a log file."""

    def __init__(self, name, argv, env, cwd, workdir):
        self.name = name
        self.log_path = Path(workdir) / f"{name}.log"
        self.log = open(self.log_path, "wb")
        full_env = {**os.environ, **env}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *argv],
            env=full_env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # taskset execs the program, so the pid is the server's own.
        self.pid = self.proc.pid

    def wait_ready(self, path, headers=None, timeout=60.0):
        """Polls `path` until it answers 200; returns seconds since the process started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready:\n"
                    + self.tail()
                )
            if http_status(path, headers) == 200:
                return time.monotonic() - self.started
            time.sleep(0.002)
        raise BenchError(f"{self.name} not ready on {path} after {timeout}s:\n{self.tail()}")

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of the file; fields[0] here is field 3.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def status_kib(self, key):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise BenchError(f"{key} missing from /proc/{self.pid}/status")

    def log_bytes(self):
        self.log.flush()
        return self.log_path.stat().st_size

    def tail(self, lines=20):
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def http_status(path, headers=None):
    """The status of GET http://127.0.0.1:PORT{path}, or None when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return None


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kwargs).stdout


def wait_port_free():
    for _ in range(500):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", PORT)) != 0:
                return
        time.sleep(0.02)
    raise BenchError(f"port {PORT} is still in use")


# --- wrk -------------------------------------------------------------------------------------


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_latency_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise BenchError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(duration, path, headers, script=None):
    argv = ["taskset", "-c", CLIENT_CPU, "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}",
            f"-d{duration}", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{PORT}{path}")
    out = run(argv)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"unparsable wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if bad:
        raise BenchError(f"{bad.group(1)} non-2xx responses:\n{out}")
    return {
        "requests": int(total.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": parse_latency_ms(p50.group(1)),
        "p99_ms": parse_latency_ms(p99.group(1)),
        "socket_errors": errors.group(0) if errors else None,
    }


def measure(case, server, path, headers=None, script=None):
    """Checks one request, warms up, then loads and measures `server`."""
    status = http_status(path, headers)
    if status != 200:
        raise BenchError(f"{case}: GET {path} answered {status}, not 200:\n{server.tail()}")
    wrk(WARMUP, path, headers, script)
    cpu0, log0 = server.cpu_seconds(), server.log_bytes()
    result = wrk(DURATION, path, headers, script)
    cpu = server.cpu_seconds() - cpu0
    result["cpu_s"] = round(cpu, 2)
    result["cpu_us_per_req"] = round(cpu / result["requests"] * 1e6, 1)
    result["peak_rss_mib"] = round(server.status_kib("VmHWM") / 1024, 1)
    result["log_bytes_per_req"] = round((server.log_bytes() - log0) / result["requests"], 1)
    print(f"  {case}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.3f} ms, "
          f"p99 {result['p99_ms']:.3f} ms, cpu {result['cpu_s']} s, "
          f"peak RSS {result['peak_rss_mib']} MiB", flush=True)
    return result


# --- the cases -------------------------------------------------------------------------------


def servicekit_env(log_level, auth=False):
    """Production settings; without `auth`, authentication is switched off explicitly (a service
    in `prod` with no issuer refuses to start), as the unauthenticated cases A, B and D need."""
    env = {"SERVICEKIT_ENV": "prod", "RUST_LOG": log_level, "PORT": str(PORT)}
    if not auth:
        env["SERVICEKIT__AUTH__ENABLED"] = "false"
    return env


def make_keys(workdir):
    """An EC P-256 and a 2048-bit RSA key pair; both public keys in one PEM file."""
    keys = {}
    for alg, opts in (("ES256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                      ("RS256", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])):
        private = workdir / f"{alg}.key"
        run(["openssl", "genpkey", *opts, "-out", str(private)])
        keys[alg] = private
    public = workdir / "public.pem"
    public.write_text("".join(run(["openssl", "pkey", "-in", str(k), "-pubout"])
                              for k in keys.values()))
    tokens = {alg: run([str(RELEASE / "mint-token"), alg, str(k)]).strip()
              for alg, k in keys.items()}
    return public, tokens


def in_memory_cases(workdir, public_pem, tokens):
    """Cases A, B, C, E: (id, description, argv, env, cwd, ready path, headers)."""
    cases = [("A", "bare axum", [RELEASE / "bare-axum"], {"PORT": str(PORT)}, None,
              STUDENT_PATH, None)]
    for level in ("info", "warn"):
        cases.append((f"B-{level}", f"servicekit default stack, log level {level}",
                      [RELEASE / "sk-default"], servicekit_env(level), None, "/health/ready",
                      None))
    for level in ("info", "warn"):
        for alg in ("ES256", "RS256"):
            env = {**servicekit_env(level, auth=True), "BENCH_JWT_PUBLIC_PEM": str(public_pem)}
            cases.append((f"C-{alg}-{level}",
                          f"servicekit + JWT ({alg}, cached) + scope, log level {level}",
                          [RELEASE / "sk-jwt"], env, None, "/health/ready",
                          {"Authorization": f"Bearer {tokens[alg]}"}))
    for alg in ("ES256", "RS256"):
        env = {"NODE_ENV": "production", "PORT": str(PORT),
               "BENCH_JWT_PUBLIC_PEM": str(public_pem)}
        cases.append((f"E-{alg}", f"NestJS + Fastify + passport-jwt ({alg}), 1 process",
                       ["node", NEST / "dist" / "main.js"], env, NEST, "/health/ready",
                       {"Authorization": f"Bearer {tokens[alg]}"}))
    return cases


def run_in_memory(workdir, public_pem, tokens, results):
    for case, what, argv, env, cwd, ready, headers in in_memory_cases(workdir, public_pem, tokens):
        if ONLY and case not in ONLY:
            continue
        wait_port_free()
        server = Server(case, [str(a) for a in argv], env, cwd or workdir, workdir)
        try:
            server.wait_ready(ready)
            results[case] = {"what": what, **measure(case, server, STUDENT_PATH, headers)}
        finally:
            server.stop()


def psql(db, sql):
    return run(["psql", "-v", "ON_ERROR_STOP=1", "-qAt", f"{PG}/{db}", "-c", sql])


def run_database(workdir, results):
    """Case D: student-service and the hand-written twin on the same PostgreSQL rows."""
    if ONLY and not ONLY & {"D-servicekit", "D-handwritten"}:
        return
    url = f"{PG}/{DB}"
    psql("postgres", f"DROP DATABASE IF EXISTS {DB}")
    psql("postgres", f"CREATE DATABASE {DB}")
    env = {**servicekit_env("info"), "DATABASE_URL": url}
    # Let student-service create its table, then seed it.
    wait_port_free()
    server = Server("student-service-migrate", [str(RELEASE / "student-service")], env,
                    workdir, workdir)
    try:
        server.wait_ready("/health/ready")
    finally:
        server.stop()
    psql(DB, f"""INSERT INTO students (id, name, email, created_at, updated_at)
        SELECT gen_random_uuid()::text, 'Student ' || i, 'student' || i || '@example.org',
               1767225600000 + i, 1767225600000 + i
        FROM generate_series(1, {ROWS}) AS i""")
    ids = psql(DB, "SELECT id FROM students ORDER BY id").split()
    if len(ids) != ROWS:
        raise BenchError(f"seeded {len(ids)} students, expected {ROWS}")
    script = workdir / "students.lua"
    script.write_text(
        "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
        "request = function()\n"
        '  return wrk.format(nil, "/students/" .. ids[math.random(#ids)])\n'
        "end\n")
    first = f"/students/{ids[0]}"
    cases = [
        ("D-handwritten", "axum + sqlx PgPool, hand-written", [RELEASE / "axum-sqlx"],
         {"PORT": str(PORT), "DATABASE_URL": url}, first),
        ("D-servicekit", "student-service (servicekit), log level info",
         [RELEASE / "student-service"], env, "/health/ready"),
        ("D-servicekit-warn", "student-service (servicekit), log level warn",
         [RELEASE / "student-service"], {**env, "RUST_LOG": "warn"}, "/health/ready"),
    ]
    for case, what, argv, case_env, ready in cases:
        if ONLY and case not in ONLY and case.rsplit("-warn", 1)[0] not in ONLY:
            continue
        wait_port_free()
        server = Server(case, [str(a) for a in argv], case_env, workdir, workdir)
        try:
            server.wait_ready(ready)
            results[case] = {"what": what, **measure(case, server, first, script=script)}
        finally:
            server.stop()


def startup(name, argv, env, cwd_factory, workdir):
    """Median time to /health/ready 200 and idle RSS over STARTUP_RUNS fresh starts."""
    times, rss = [], []
    for i in range(STARTUP_RUNS):
        wait_port_free()
        server = Server(f"{name}-startup-{i}", [str(a) for a in argv], env, cwd_factory(),
                        workdir)
        try:
            times.append(server.wait_ready("/health/ready") * 1e3)
            time.sleep(1.0)
            rss.append(server.status_kib("VmRSS") / 1024)
        finally:
            server.stop()
    return {"ready_ms_median": round(statistics.median(times), 1),
            "ready_ms_all": [round(t, 1) for t in times],
            "idle_rss_mib_median": round(statistics.median(rss), 1)}


def dir_size(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_startup(workdir, public_pem):
    if ONLY and "startup" not in ONLY:
        return {}
    footprint = {}

    def fresh_dir():
        # A new directory per start: student-service creates and migrates its SQLite file.
        return tempfile.mkdtemp(dir=workdir)

    binary = RELEASE / "student-service"
    footprint["student-service (SQLite)"] = {
        **startup("student-service", [binary], servicekit_env("info"), fresh_dir, workdir),
        "size_mib": round(binary.stat().st_size / 2**20, 1),
        "size_what": "release binary",
    }
    env = {"NODE_ENV": "production", "PORT": str(PORT), "BENCH_JWT_PUBLIC_PEM": str(public_pem)}
    footprint["NestJS peer"] = {
        **startup("nestjs", ["node", NEST / "dist" / "main.js"], env, lambda: NEST, workdir),
        "size_mib": round((dir_size(NEST / "node_modules") + dir_size(NEST / "dist")) / 2**20,
                          1),
        "size_what": "node_modules + dist, node itself not counted",
    }
    return footprint


# --- report ----------------------------------------------------------------------------------


def machine():
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "load_average_at_start": os.getloadavg(),
        "wrk": wrk_version(),
        "node": run(["node", "--version"]).strip(),
    }


def wrk_version():
    proc = subprocess.run(["wrk", "-v"], text=True, capture_output=True)
    return (proc.stdout + proc.stderr).splitlines()[0].strip()


def ratio(results, a, b, key="rps"):
    if a in results and b in results:
        return round(results[a][key] / results[b][key], 3)
    return None


def ratios(results, footprint):
    out = {}
    for level in ("info", "warn"):
        out[f"B/A ({level})"] = (ratio(results, f"B-{level}", "A"), ">= 0.90")
        for alg in ("ES256", "RS256"):
            out[f"C/A ({alg}, {level})"] = (ratio(results, f"C-{alg}-{level}", "A"), ">= 0.85")
    for case in ("B-info", "C-ES256-info", "C-RS256-info", "B-warn", "C-ES256-warn",
                 "C-RS256-warn"):
        if case in results and "A" in results:
            delta = round(results[case]["p99_ms"] - results["A"]["p99_ms"], 3)
            out[f"p99 {case} - A (ms)"] = (delta, "<= +0.3")
    # CPU time per request is steadier than requests/s on a busy machine.
    for case in ("B-info", "B-warn", "C-ES256-info", "C-RS256-info"):
        value = ratio(results, "A", case, key="cpu_us_per_req")
        if value is not None:
            out[f"CPU per request A/{case}"] = (value, "")
    out["D servicekit/handwritten (info)"] = (ratio(results, "D-servicekit", "D-handwritten"),
                                              ">= 0.95")
    out["D servicekit/handwritten (warn)"] = (ratio(results, "D-servicekit-warn",
                                                    "D-handwritten"), ">= 0.95")
    for alg in ("ES256", "RS256"):
        out[f"C/E ({alg}, info)"] = (ratio(results, f"C-{alg}-info", f"E-{alg}"), ">= 10")
    service = footprint.get("student-service (SQLite)")
    if service:
        out["student-service ready (ms, median)"] = (service["ready_ms_median"], "<= 50")
        out["student-service idle RSS (MiB)"] = (service["idle_rss_mib_median"], "<= 20")
    return {k: {"value": v, "target": t} for k, (v, t) in out.items() if v is not None}


def met(value, target):
    if not target:
        return None
    op, bound = target.split()
    bound = float(bound)
    return value >= bound if op == ">=" else value <= bound


def markdown(report):
    lines = [f"Run {report['date']} on {report['machine']['cpus']} CPUs "
             f"({report['machine']['cpu_model']}), {report['machine']['ram_gib']} GiB RAM; "
             f"load average at start {report['machine']['load_average_at_start']}.",
             "",
             f"`wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} --latency` after {WARMUP} of "
             f"warm-up; server on CPU {SERVER_CPU}, wrk on CPU {CLIENT_CPU}.",
             "",
             "| case | what | req/s | p50 ms | p99 ms | server CPU s | CPU µs/req "
             "| peak RSS MiB | log bytes/req |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case, r in report["cases"].items():
        lines.append(f"| {case} | {r['what']} | {r['rps']:.0f} | {r['p50_ms']:.3f} "
                     f"| {r['p99_ms']:.3f} | {r['cpu_s']} | {r['cpu_us_per_req']} "
                     f"| {r['peak_rss_mib']} | {r['log_bytes_per_req']} |")
    lines += ["", "| ratio | measured | target | met |", "|---|---:|---|---|"]
    for name, r in report["ratios"].items():
        verdict = {True: "yes", False: "no", None: "(information)"}[met(r["value"], r["target"])]
        lines.append(f"| {name} | {r['value']} | {r['target']} | {verdict} |")
    if report["footprint"]:
        lines += ["", f"Startup (median of {STARTUP_RUNS} starts, process start to "
                  "`/health/ready` 200) and footprint:", "",
                  "| process | ready ms (median) | all runs ms | idle RSS MiB | size MiB |",
                  "|---|---:|---|---:|---|"]
        for name, f in report["footprint"].items():
            lines.append(f"| {name} | {f['ready_ms_median']} | {f['ready_ms_all']} "
                         f"| {f['idle_rss_mib_median']} | {f['size_mib']} ({f['size_what']}) |")
    return "\n".join(lines) + "\n"


def main():
    for tool in ("wrk", "taskset", "openssl", "psql", "node"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} not found on PATH")
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": machine(),
              "settings": {"duration": DURATION, "warmup": WARMUP, "connections": CONNECTIONS,
                           "threads": THREADS, "server_cpu": SERVER_CPU,
                           "client_cpu": CLIENT_CPU, "rows": ROWS}}
    results = {}
    with tempfile.TemporaryDirectory(prefix="servicekit-bench-") as tmp:
        workdir = Path(tmp)
        public_pem, tokens = make_keys(workdir)
        print("load:", flush=True)
        run_in_memory(workdir, public_pem, tokens, results)
        run_database(workdir, results)
        print("startup and footprint:", flush=True)
        report["footprint"] = run_startup(workdir, public_pem)
    report["cases"] = results
    report["ratios"] = ratios(results, report["footprint"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    (RESULTS / "latest.md").write_text(md)
    print()
    print(md)


if __name__ == "__main__":
    try:
        main()
    except (BenchError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", None) or ""
        print(f"bench: FAILED: {e}\n{detail}", file=sys.stderr)
        sys.exit(1)
