"""Every setting of the benchmark, read once from the environment (see bench/run.py)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
NEST = ROOT / "bench" / "nestjs"
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))


def _bin_dir():
    """BENCH_BIN, else $CARGO_TARGET_DIR/release, else target/release of the workspace."""
    if os.environ.get("BENCH_BIN"):
        return Path(os.environ["BENCH_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    return (Path(target) if target else ROOT / "target") / "release"


def _flag(name, default):
    return os.environ.get(name, default).lower() not in ("0", "no", "false", "off", "")


RELEASE = _bin_dir()
DURATION = os.environ.get("BENCH_DURATION", "15s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PAUSE = float(os.environ.get("BENCH_PAUSE", "2"))
SYNC = _flag("BENCH_SYNC", "1")
# Where servers' stdout goes: a directory (default /dev/shm, a tmpfs, so an INFO case's ~50 MB
# of log never reaches the disk) or "null" for /dev/null (then log bytes are not counted).
LOG_DIR = os.environ.get("BENCH_LOG_DIR", "/dev/shm")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "1")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = os.environ.get("BENCH_DB", "servicekit_bench")
ROWS = int(os.environ.get("BENCH_ROWS", "1000"))
MANY_TOKENS = int(os.environ.get("BENCH_MANY_TOKENS", "1000"))
STARTUP_RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "5"))
# Merge into the previous latest.json (see harness/merge.py); 0: write the new run alone.
MERGE = _flag("BENCH_MERGE", "1")
ONLY = [c for c in os.environ.get("BENCH_CASES", "").split(",") if c]
# Instructions per request under callgrind: "1" after the load runs, "0" never, "only" alone.
INSTRUCTIONS = os.environ.get("BENCH_INSTRUCTIONS", "1").lower()
INSTR_REQUESTS = int(os.environ.get("BENCH_INSTR_REQUESTS", "2000"))
INSTR_WARMUP = int(os.environ.get("BENCH_INSTR_WARMUP", "200"))
INSTR_CONCURRENCY = int(os.environ.get("BENCH_INSTR_CONCURRENCY", "4"))
INSTR_CASES = [c for c in os.environ.get(
    "BENCH_INSTR_CASES",
    "A,B-warn,B-info,C-ES256-warn,C-RS256-warn,C-many-ES256-warn,C-nocache-ES256-warn",
).split(",") if c]
PORT = int(os.environ.get("BENCH_PORT", "18080"))
# Case F: the NATS server (JetStream on) both event paths use.
NATS = os.environ.get("BENCH_NATS", "nats://127.0.0.1:4222")
# Case G: student-service behind a proxy listens on UPSTREAM_PORT, pinned to UPSTREAM_CPU.
UPSTREAM_PORT = int(os.environ.get("BENCH_UPSTREAM_PORT", str(PORT + 1)))
UPSTREAM_CPU = os.environ.get("BENCH_UPSTREAM_CPU", CLIENT_CPU)
NGINX = os.environ.get("BENCH_NGINX", "nginx")
CLK_TCK = os.sysconf("SC_CLK_TCK")
STUDENT_PATH = "/students/0190b3a4-7c00-7000-8000-000000000001"


def selected(case_id):
    """Whether BENCH_CASES (empty: all) selects `case_id`."""
    return not ONLY or case_id in ONLY


def as_dict():
    """The settings recorded in latest.json."""
    return {"duration": DURATION, "warmup": WARMUP, "rounds": ROUNDS, "pause_s": PAUSE,
            "sync_between_cases": SYNC, "log_dir": LOG_DIR, "connections": CONNECTIONS,
            "threads": THREADS, "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU,
            "rows": ROWS, "nats": NATS, "cases": ONLY or "all", "many_tokens": MANY_TOKENS,
            "binaries": str(RELEASE), "upstream_port": UPSTREAM_PORT,
            "upstream_cpu": UPSTREAM_CPU,
            "instructions": INSTRUCTIONS, "instr_requests": INSTR_REQUESTS,
            "instr_warmup": INSTR_WARMUP, "instr_concurrency": INSTR_CONCURRENCY}
