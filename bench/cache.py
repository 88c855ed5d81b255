#!/usr/bin/env python3
"""Cache benchmark (issue 19): student-service's `GET /students/{id}` read from PostgreSQL
against the same read through the shared Redis cache, in the same run.

Two variants of the release student-service on one PostgreSQL database (created per run and
migrated by the service; one student created with `POST /students`), auth off and log level
warn as in the load benchmark's D cases (bench/harness/cases.py, `servicekit_env`):
  pg     no `cache.url`: every read is a query through the pool;
  redis  SERVICEKIT__CACHE__URL=BENCH_REDIS with a prefix unique to the run: after the first
         read every request is a cache hit (checked: Redis's keyspace hits over the measured
         run must reach the request count).
BENCH_ROUNDS alternating rounds (pg, redis, pg, redis, ...), each variant a fresh server pinned
to BENCH_SERVER_CPU, wrk pinned to BENCH_CLIENT_CPU with the harness's threads and connections,
a warm-up, then the measured run (bench/harness/load.py's fields: requests/s, p50, p99, server
CPU µs per request, ...). For both variants also the CPU redis-server used over the measured run
(utime + stime of its pid, from /proc/<pid>/stat): per request for `redis`, and for `pg` the
background the shared server has from its other clients. Medians and spreads over the rounds
(harness/report.py's `summarise`); every ratio from medians. Writes bench/results/cache.json
(BENCH_RESULTS) and prints a Markdown table.

Settings (environment; defaults in brackets), besides the harness's (bench/run.py's docstring;
this script's own defaults differ for these):
  BENCH_DURATION [8s]   BENCH_WARMUP [2s]   BENCH_PORT [18091]   BENCH_ROUNDS [3]
  BENCH_CACHE_PG [postgres://servicekit:servicekit@127.0.0.1:5432]
  BENCH_CACHE_DB [sk_bench_cache]         BENCH_REDIS [redis://127.0.0.1:6379]
Binaries: BENCH_BIN, else $CARGO_TARGET_DIR/release, else target/release (student-service).
Run it alone (`python3 bench/cache.py`) or from bench/run.sh with BENCH_CACHE=1.
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

# This script's defaults: shorter runs than the load benchmark and its own port, so that it can
# run next to it. Set before the harness reads the environment.
for _key, _value in (("BENCH_DURATION", "8s"), ("BENCH_WARMUP", "2s"),
                     ("BENCH_PORT", "18091")):
    os.environ.setdefault(_key, _value)
# The `pg` variant must not inherit a cache from the caller's environment.
os.environ.pop("SERVICEKIT__CACHE__URL", None)
os.environ.pop("SERVICEKIT__CACHE__PREFIX", None)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import settings as s  # noqa: E402
from harness.cases import Case, servicekit_env  # noqa: E402
from harness.load import wrk  # noqa: E402
from harness.procs import BenchError, HostSample, Server, http_status, run, run_main  # noqa: E402
from harness.report import summarise  # noqa: E402
from harness.rounds import run_rounds  # noqa: E402

PG = os.environ.get("BENCH_CACHE_PG", "postgres://servicekit:servicekit@127.0.0.1:5432")
PG = PG.rstrip("/")
DB = os.environ.get("BENCH_CACHE_DB", "sk_bench_cache")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
VARIANTS = ("pg", "redis")


def psql(db, sql):
    return run(["psql", "-v", "ON_ERROR_STOP=1", "-qAt", f"{PG}/{db}", "-c", sql])


def redis_info(section):
    """`INFO <section>` of BENCH_REDIS as a dict."""
    out = run(["redis-cli", "-u", REDIS, "INFO", section])
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


class RedisServer:
    """The redis-server behind BENCH_REDIS, on this machine: its CPU seconds and hits."""

    def __init__(self):
        self.pid = int(redis_info("server")["process_id"])
        if not Path(f"/proc/{self.pid}/stat").exists():
            raise BenchError(f"redis-server (pid {self.pid}, from INFO server) does not run on "
                             "this machine: its CPU cannot be read; set BENCH_REDIS to a "
                             "local server")
        self.version = redis_info("server")["redis_version"]

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / s.CLK_TCK

    @staticmethod
    def hits():
        return int(redis_info("stats")["keyspace_hits"])


def measure(case, server, redis):
    """One round of `case`: the harness's fields (as harness/load.py's `measure`) plus
    redis-server's CPU and keyspace hits over the measured run."""
    status = http_status(case.path)
    if status != 200:
        raise BenchError(f"{case.id}: GET {case.path} answered {status}:\n{server.tail()}")
    wrk(s.WARMUP, case.path, None)
    host = HostSample()
    cpu0, redis0, hits0 = server.cpu_seconds(), redis.cpu_seconds(), redis.hits()
    result = wrk(s.DURATION, case.path, None)
    cpu = server.cpu_seconds() - cpu0
    redis_cpu = redis.cpu_seconds() - redis0
    hits = redis.hits() - hits0
    n = result["requests"]
    result["cpu_s"] = round(cpu, 2)
    result["cpu_us_per_req"] = round(cpu / n * 1e6, 1)
    result["server_core_pct"] = round(100 * cpu / result["seconds"], 1)
    result["peak_rss_mib"] = round(server.status_kib("VmHWM") / 1024, 1)
    result["log_bytes_per_req"] = None
    result["redis_cpu_s"] = round(redis_cpu, 2)
    result["redis_cpu_us_per_req"] = round(redis_cpu / n * 1e6, 1)
    result["redis_hits_per_req"] = round(hits / n, 3)
    result.update(host.since())
    if case.id == "redis" and hits < 0.99 * n:
        raise BenchError(f"redis: {hits} keyspace hits for {n} requests: the reads did not go "
                         f"through the cache\n{server.tail()}")
    return result


def setup(workdir, log_dir):
    """Creates and migrates the database, creates one student; returns the two cases."""
    psql("postgres", f"DROP DATABASE IF EXISTS {DB}")
    psql("postgres", f"CREATE DATABASE {DB}")
    env = {**servicekit_env("warn"), "DATABASE_URL": f"{PG}/{DB}"}
    server = Server("student-service-setup", [s.RELEASE / "student-service"], env, workdir,
                    log_dir)
    try:
        server.wait_ready("/health/ready")
        body = json.dumps({"name": "Ada Lovelace", "email": "ada@example.org"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{s.PORT}/students", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            student = json.load(response)
    finally:
        server.stop()
    path = f"/students/{student['id']}"
    prefix = f"sk-bench-cache-{uuid.uuid4().hex[:12]}"
    return prefix, [
        Case("pg", "student-service, every read from PostgreSQL (no cache.url), log level warn",
             [s.RELEASE / "student-service"], env, path=path),
        Case("redis", f"student-service, reads through the Redis cache ({REDIS}, "
             f"cache.prefix {prefix}), log level warn", [s.RELEASE / "student-service"],
             {**env, "SERVICEKIT__CACHE__URL": REDIS, "SERVICEKIT__CACHE__PREFIX": prefix},
             path=path),
    ]


def summary(rounds):
    out = summarise(rounds)
    values = [r["redis_cpu_us_per_req"] for r in rounds]
    out["redis_cpu_us_per_req"] = {"median": round(statistics.median(values), 3),
                                   "min": min(values), "max": max(values)}
    out["redis_hits_per_req_median"] = statistics.median(r["redis_hits_per_req"]
                                                         for r in rounds)
    return out


def markdown(report):
    c = report["cases"]
    lines = ["| variant | req/s median (min–max) | p50 ms | p99 ms | server CPU µs/req | "
             "Redis CPU µs/req |", "|---|---|---|---|---|---|"]
    for v in VARIANTS:
        r = c[v]
        rps = r["rps"]
        lines.append(f"| {v} | {rps['median']:.0f} ({rps['min']:.0f}–{rps['max']:.0f}) | "
                     f"{r['p50_ms']['median']:.3f} | {r['p99_ms']['median']:.3f} | "
                     f"{r['cpu_us_per_req']['median']:.1f} | "
                     f"{r['redis_cpu_us_per_req']['median']:.1f} |")
    lines.append("")
    for key, value in report["ratios"].items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


def wrk_version():
    out = subprocess.run(["wrk", "-v"], text=True, capture_output=True)
    return (out.stdout + out.stderr).splitlines()[0].strip()


def main():
    if not (s.RELEASE / "student-service").exists():
        raise BenchError(f"{s.RELEASE / 'student-service'} missing: build it with "
                         "`cargo build --release -p student-service` or set BENCH_BIN")
    redis = RedisServer()
    load0 = os.getloadavg()
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": subprocess.run(["git", "-C", str(s.ROOT), "describe", "--always",
                                        "--dirty"], text=True,
                                       capture_output=True).stdout.strip() or "unknown",
              "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                          "load_average_at_start": load0, "redis": redis.version,
                          "wrk": wrk_version()},
              "settings": {**s.as_dict(), "pg": PG, "db": DB, "redis": REDIS}}
    with tempfile.TemporaryDirectory(prefix="servicekit-bench-cache-") as tmp:
        workdir = Path(tmp)
        log_dir = None if s.LOG_DIR == "null" else tempfile.mkdtemp(dir=s.LOG_DIR)
        try:
            prefix, cases = setup(workdir, log_dir)
            report["settings"]["cache_prefix"] = prefix
            rounds = run_rounds(
                cases, workdir, log_dir, lambda case, server: measure(case, server, redis),
                lambda r: f"Redis {r['redis_cpu_us_per_req']} µs/req, ")
        finally:
            if log_dir:
                shutil.rmtree(log_dir, ignore_errors=True)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["cases"] = {c.id: {"what": c.what, **summary(rounds[c.id]),
                              "all_rounds": rounds[c.id]} for c in cases}
    pg, cached = report["cases"]["pg"], report["cases"]["redis"]

    def ratio(key):
        return round(cached[key]["median"] / pg[key]["median"], 3)

    report["ratios"] = {"rps redis/pg": ratio("rps"), "p50 redis/pg": ratio("p50_ms"),
                        "p99 redis/pg": ratio("p99_ms"),
                        "server cpu per req redis/pg": ratio("cpu_us_per_req")}
    s.RESULTS.mkdir(parents=True, exist_ok=True)
    (s.RESULTS / "cache.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(markdown(report))


if __name__ == "__main__":
    run_main(main)
