#!/usr/bin/env bash
# Load benchmark of servicekit against bare axum, a hand-written axum + sqlx service and a
# NestJS peer (issues 8 and 15). One command, from anywhere:
#
#   bench/run.sh                                      # 3 rounds of 15 s per case, ~25 minutes
#   BENCH_ROUNDS=3 BENCH_DURATION=5s bench/run.sh     # ~15 minutes
#   BENCH_INSTRUCTIONS=only bench/run.sh              # only instructions/request (callgrind)
#   BENCH_CASES=A,B-warn BENCH_INSTRUCTIONS=0 bench/run.sh
#   BENCH_CASES=F-bare,F-servicekit BENCH_INSTRUCTIONS=0 bench/run.sh   # events only (issue 17)
#   BENCH_CASES=G-direct,G-gateway,G-nginx BENCH_INSTRUCTIONS=0 bench/run.sh   # gateway (issue 18)
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; BENCH_PG overrides), NATS with
# JetStream on 127.0.0.1:4222 for the events cases F (BENCH_NATS overrides), node/npm,
# openssl, taskset, valgrind (callgrind), and two or more cores. Installs wrk (and, for the
# gateway case G-nginx, nginx, whose packaged server is not started) with apt-get when
# missing, builds the release binaries (into $CARGO_TARGET_DIR when set, else target/;
# student-service only when a D-servicekit, G or startup case is selected, gateway only for
# G-gateway), copies them to a
# private directory so that another build into a shared target directory cannot swap them
# during the run (or, with BENCH_BIN=<dir>, uses the binaries in <dir> and builds nothing),
# installs and compiles the NestJS peer (unless BENCH_CASES names neither an E case nor
# startup), then runs bench/run.py, which writes bench/results/latest.json and
# bench/results/latest.md (settings: its docstring).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi
fi

selects() { # selects <regex>: BENCH_CASES is empty (all) or names a case matching <regex>
    [ -z "${BENCH_CASES:-}" ] || [[ ",$BENCH_CASES," =~ ,($1), ]]
}

apt_install() {
    if [ "$(id -u)" = 0 ]; then apt-get install -y "$@"; else sudo apt-get install -y "$@"; fi
}

if selects G-nginx && ! command -v nginx >/dev/null; then
    echo "bench: installing nginx (its packaged server is not started)" >&2
    # policy-rc.d 101: the package's postinst must not start a system-wide nginx on port 80.
    # An existing policy-rc.d (e.g. a container's) is left as it is.
    if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        DEBIAN_FRONTEND=noninteractive apt_install nginx
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    else
        DEBIAN_FRONTEND=noninteractive apt_install nginx
    fi
fi

if [ -n "${BENCH_BIN:-}" ]; then
    # Binaries built elsewhere (e.g. with other cargo settings): used as they are.
    bin="$BENCH_BIN"
else
    # Two builds, each with its own feature set: the bench servers get only the features they use.
    cargo build --release -p servicekit-bench
    if selects 'D-servicekit[a-z-]*|G-[a-z]+|startup'; then
        cargo build --release -p student-service
    fi
    if selects G-gateway; then
        cargo build --release -p gateway
    fi
    # Case F's binary has a feature set of its own (servicekit with events-nats).
    if [ -z "${BENCH_CASES:-}" ] || [[ ",$BENCH_CASES," =~ ,F-[a-z]+, ]]; then
        cargo build --release -p servicekit-bench --features events --bin sk-events
    fi
    release="${CARGO_TARGET_DIR:-target}/release"
    bin="$(mktemp -d -t servicekit-bench-bin-XXXXXX)"
    trap 'rm -rf "$bin"' EXIT
    for b in bare-axum sk-default sk-jwt axum-sqlx sk-typed mint-token student-service sk-events \
        gateway; do
        if [ -e "$release/$b" ]; then cp "$release/$b" "$bin/"; fi
    done
fi

if selects 'E-[A-Z0-9]+|startup'; then
    (cd bench/nestjs && npm ci --no-audit --no-fund && npx tsc -p tsconfig.json)
fi

BENCH_BIN="$bin" python3 bench/run.py
if [ "${BENCH_CACHE:-0}" = 1 ]; then BENCH_BIN="$bin" python3 bench/cache.py; fi  # issue 19 (needs student-service: all cases, or a D-servicekit one)
