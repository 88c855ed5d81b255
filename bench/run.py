#!/usr/bin/env python3
"""Load benchmark of servicekit (issues 8 and 15); started by bench/run.sh after the builds.

Load: BENCH_ROUNDS alternating rounds; each round runs every case once, always in the same
order (A, B-warn, B-info, C..., E..., D...). Per case: start the server pinned to one core,
wait until it answers, check one request returns 200, warm up, then run wrk pinned to the other
core and record requests/s, p50, p99, the server's CPU seconds (utime+stime from
/proc/<pid>/stat), its peak RSS (VmHWM), log bytes, and the steal of the server's core. Between
two cases: `sync` and a pause. The report gives the median and the spread (min-max) over the
rounds; every ratio is computed from medians.
Instructions: each case of BENCH_INSTR_CASES under callgrind with a fixed client
(bench/harness/instructions.py). Startup: process start to /health/ready 200 and idle RSS of
student-service on SQLite and of the NestJS peer.
Gateway (case G, issue 18): G-direct, G-gateway and G-nginx in the load rounds, student-service
on SQLite called directly, through examples/gateway and through nginx (bench/harness/gateway.py);
needs nginx on PATH for G-nginx.
Events (case F, issue 17): `sk-events bare` and `sk-events servicekit` in alternating rounds
(bench/harness/events.py); needs NATS with JetStream at BENCH_NATS.
Writes bench/results/latest.json and latest.md and prints the Markdown.

Every setting comes from the environment (defaults in brackets):
  BENCH_ROUNDS [3]         rounds of all cases          BENCH_DURATION [15s] measured run per case
  BENCH_WARMUP [3s]        warm-up per case             BENCH_PAUSE [2]  seconds between cases
  BENCH_SYNC [1]           `sync` between cases         BENCH_CONNECTIONS [64] wrk connections
  BENCH_LOG_DIR [/dev/shm] where servers' stdout goes (a file per case, deleted after it);
                           `null` discards it (/dev/null; log bytes then not counted)
  BENCH_THREADS [1]        wrk threads                  BENCH_SERVER_CPU [0], BENCH_CLIENT_CPU [1]
  BENCH_PG [postgres://postgres@127.0.0.1:5432]         BENCH_DB [servicekit_bench]
  BENCH_NATS [nats://127.0.0.1:4222] (case F)           BENCH_EVENTS [20000], BENCH_EVENTS_WARMUP
                           [2000], BENCH_EVENTS_KEYS [256], BENCH_EVENTS_CONCURRENCY [64] (F)
  BENCH_ROWS [1000]        seeded students              BENCH_STARTUP_RUNS [5]
  BENCH_MANY_TOKENS [1000] tokens in rotation (C-many)  BENCH_PORT [18080]
  BENCH_UPSTREAM_PORT [BENCH_PORT + 1], BENCH_UPSTREAM_CPU [BENCH_CLIENT_CPU]: student-service
                           behind a proxy (case G)   BENCH_NGINX [nginx] the nginx binary (G)
  BENCH_CASES [all]        comma-separated case ids, run in that order (e.g. B-info,B-warn,startup)
  BENCH_INSTRUCTIONS [1]   callgrind instructions/request after the load; 0: skip; only: alone
  BENCH_INSTR_CASES [A,B-warn,B-info,C-ES256-warn,C-RS256-warn,C-many-ES256-warn,
                     C-nocache-ES256-warn]; D cases too (e.g. D-handwritten,D-typed-warn)
  BENCH_INSTR_REQUESTS [2000], BENCH_INSTR_WARMUP [200], BENCH_INSTR_CONCURRENCY [4]
  BENCH_BIN [$CARGO_TARGET_DIR/release or target/release] the servers' binaries
  BENCH_RESULTS [bench/results] where latest.json and latest.md go
  BENCH_MERGE [1]          keep the previous latest.json's cases, instructions and footprint
                           that this run does not redo (each entry names its run); 0: replace
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import events, instructions, merge  # noqa: E402
from harness.gateway import gateway_cases  # noqa: E402
from harness import settings as s  # noqa: E402
from harness.cases import (D_CASES, database_cases, in_memory_cases, make_keys,  # noqa: E402
                           servicekit_env)
from harness.load import measure  # noqa: E402
from harness.procs import BenchError, Server, quiesce, run, run_main  # noqa: E402
from harness.report import markdown, ratios, summarise  # noqa: E402
from harness.rounds import run_rounds as rounds_of  # noqa: E402


def run_rounds(cases, workdir, log_dir):
    """BENCH_ROUNDS rounds of every selected case, in the same order each round."""
    rounds = rounds_of(cases, workdir, log_dir, measure)
    return {c.id: {"what": c.what, **summarise(rounds[c.id]), "all_rounds": rounds[c.id]}
            for c in cases}


def startup(name, argv, env, cwd_factory, log_dir):
    """Median time to /health/ready 200 and idle RSS over STARTUP_RUNS fresh starts."""
    times, rss = [], []
    for i in range(s.STARTUP_RUNS):
        quiesce()
        server = Server(f"{name}-startup-{i}", argv, env, cwd_factory(), log_dir)
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


def run_startup(workdir, public_pem, log_dir):
    if s.ONLY and "startup" not in s.ONLY:
        return {}
    print("startup and footprint:", flush=True)
    footprint = {}

    def fresh_dir():
        # A new directory per start: student-service creates and migrates its SQLite file.
        return tempfile.mkdtemp(dir=workdir)

    binary = s.RELEASE / "student-service"
    footprint["student-service (SQLite)"] = {
        **startup("student-service", [binary], servicekit_env("info"), fresh_dir, log_dir),
        "size_mib": round(binary.stat().st_size / 2**20, 1),
        "size_what": "release binary",
    }
    env = {"NODE_ENV": "production", "PORT": str(s.PORT), "BENCH_JWT_PUBLIC_PEM": str(public_pem)}
    footprint["NestJS peer"] = {
        **startup("nestjs", ["node", s.NEST / "dist" / "main.js"], env, lambda: s.NEST, log_dir),
        "size_mib": round((dir_size(s.NEST / "node_modules") + dir_size(s.NEST / "dist"))
                          / 2**20, 1),
        "size_what": "node_modules + dist, node itself not counted",
    }
    return footprint


def machine():
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    wrk = subprocess.run(["wrk", "-v"], text=True, capture_output=True)
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "load_average_at_start": os.getloadavg(),
            "wrk": (wrk.stdout + wrk.stderr).splitlines()[0].strip(),
            "node": run(["node", "--version"]).strip()}


def commit():
    proc = subprocess.run(["git", "-C", str(s.ROOT), "describe", "--always", "--dirty"],
                          text=True, capture_output=True)
    return proc.stdout.strip() or "unknown"


def main():
    for tool in ("wrk", "taskset", "openssl", "psql", "node", "sync"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} not found on PATH")
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit(),
              "machine": machine(), "settings": s.as_dict()}
    with tempfile.TemporaryDirectory(prefix="servicekit-bench-") as tmp:
        workdir = Path(tmp)
        log_tmp = None if s.LOG_DIR == "null" else tempfile.TemporaryDirectory(
            prefix="servicekit-bench-logs-", dir=s.LOG_DIR)
        log_dir = log_tmp.name if log_tmp else None
        try:
            public_pem, tokens, many = make_keys(workdir)
            memory = in_memory_cases(workdir, public_pem, tokens, many)
            report["cases"], report["instructions"], report["footprint"] = {}, {}, {}
            report["events"] = {}
            load = s.INSTRUCTIONS != "only"
            counted = s.INSTRUCTIONS not in ("0", "no", "off")
            # The database is set up once, for the load and for callgrind's D cases.
            wanted = {c for c in D_CASES if load and s.selected(c)}
            wanted |= {c for c in s.INSTR_CASES if counted and s.selected(c)}
            database = database_cases(workdir, log_dir, wanted)
            if load:
                gateway = gateway_cases(workdir, log_dir)
                cases = [c for c in memory + database + gateway if s.selected(c.id)]
                if s.ONLY:
                    # BENCH_CASES also sets the order of a round (e.g. B-info,B-warn).
                    cases.sort(key=lambda c: s.ONLY.index(c.id))
                report["cases"] = run_rounds(cases, workdir, log_dir)
                report["footprint"] = run_startup(workdir, public_pem, log_dir)
                report["events"] = events.run_events()
            if counted:
                print("instructions per request (callgrind):", flush=True)
                report["instructions"] = instructions.run_all(memory + database, workdir,
                                                              log_dir)
        finally:
            if log_tmp:
                log_tmp.cleanup()
    report = merge.merge(merge.previous(), report)
    report["ratios"] = ratios(report["cases"], report["footprint"], report["instructions"],
                              report["events"])
    s.RESULTS.mkdir(parents=True, exist_ok=True)
    (s.RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    (s.RESULTS / "latest.md").write_text(md)
    print()
    print(md)


if __name__ == "__main__":
    run_main(main)
