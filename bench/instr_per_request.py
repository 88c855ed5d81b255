#!/usr/bin/env python3
"""Instructions per request of a server under callgrind (issue 15; docs/performance.md, "Hot path levers").

usage: bench/instr_per_request.py LABEL BINARY N [warmup]   (env: the server's, PORT [18090], E_TOKEN (a bearer token), E_OUT [/tmp/callgrind])
Starts BINARY under `valgrind --tool=callgrind`, waits for GET /students/... to answer 200,
sends `warmup` requests on one keep-alive connection, zeroes the counters
(`callgrind_control -z`), sends N requests on the same connection, dumps (`callgrind_control
-d`) and prints the dump's total instructions / N.
"""
import glob, http.client, os, subprocess, sys, time, threading

label, binary, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
warm = int(sys.argv[4]) if len(sys.argv) > 4 else 200
port = int(os.environ.get("PORT", "18090"))
path = "/students/0190b3a4-7c00-7000-8000-000000000001"
out = os.path.join(os.environ.get("E_OUT", "/tmp/callgrind"), label)
os.makedirs(out, exist_ok=True)
for f in glob.glob(f"{out}/callgrind.out*"):
    os.remove(f)
headers = {}
if os.environ.get("E_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["E_TOKEN"]
log = open(f"{out}/server.log", "wb")
srv = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out.%p",
                        binary], stdout=log if os.environ.get("E_STDOUT") else subprocess.DEVNULL,
                       stderr=log, env=os.environ)
try:
    deadline = time.time() + 120
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path, headers=headers)
            r = c.getresponse(); r.read()
            if r.status == 200:
                break
            if time.time() > deadline:
                raise SystemExit(f"status {r.status}")
            time.sleep(0.3)
        except (ConnectionError, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.3)
    def one():
        c.request("GET", path, headers=headers)
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
    for _ in range(warm):
        one()
    # callgrind handles commands while the program runs: keep one request going meanwhile.
    def control(arg):
        p = subprocess.Popen(["callgrind_control", arg, str(srv.pid)], stdout=subprocess.DEVNULL)
        done = 0
        while p.poll() is None:
            one(); done += 1; time.sleep(0.05)
        return done
    control("-z")
    for _ in range(n):
        one()
    before = set(glob.glob(f"{out}/callgrind.out.*"))
    n += control("-d")  # requests sent while the dump was pending are counted too
    dumps = sorted(set(glob.glob(f"{out}/callgrind.out.*")) - before)
    total = 0
    for d in dumps:
        for line in open(d):
            if line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    print(f"{label}: {total} instructions / {n} requests = {total / n:.0f} per request ({dumps[-1]})")
finally:
    srv.terminate()
    srv.wait()
