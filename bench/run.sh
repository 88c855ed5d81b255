#!/usr/bin/env bash
# Load benchmark of servicekit against bare axum, a hand-written axum + sqlx service and a
# NestJS peer (issue 8). One command, from anywhere:
#
#   bench/run.sh                      # 15 s per case, about 5 minutes
#   BENCH_DURATION=3s bench/run.sh    # quick check
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; BENCH_PG overrides), node/npm,
# openssl, taskset, and two or more cores. Installs wrk with apt-get when missing, builds the
# release binaries, installs and compiles the NestJS peer, then runs bench/run.py, which writes
# bench/results/latest.json and bench/results/latest.md (settings: see its docstring).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi
fi

cargo build --release -p servicekit-bench -p student-service

(cd bench/nestjs && npm ci --no-audit --no-fund && npx tsc -p tsconfig.json)

exec python3 bench/run.py
