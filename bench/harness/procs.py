"""Server processes, HTTP probes and the machine's state (CPU steal, dirty pages)."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import settings as s


class BenchError(Exception):
    """A case that could not be measured: the run stops with this message."""


def run_main(main):
    """Runs a bench script's `main`: a failed check or command is one line on stderr (with the
    command's stderr) and exit status 1, not a traceback."""
    try:
        main()
    except (BenchError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", None) or ""
        print(f"bench: FAILED: {e}\n{detail}", file=sys.stderr)
        sys.exit(1)


class Server:
    """A server process pinned to `cpu` (default SERVER_CPU; after `prefix`, e.g. valgrind),
    listening on `port` (default PORT), its output in `log_dir/<name>.log`, or discarded when
    `log_dir` is None."""

    def __init__(self, name, argv, env, cwd, log_dir, prefix=(), cpu=None, port=None):
        self.name = name
        self.port = port or s.PORT
        self.log_path = Path(log_dir) / f"{name}.log" if log_dir else None
        self.log = open(self.log_path, "wb") if self.log_path else None
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["taskset", "-c", cpu or s.SERVER_CPU, *prefix, *[str(a) for a in argv]],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=self.log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        # taskset execs the program, so the pid is the server's own (or valgrind's, which
        # runs the program in the same process).
        self.pid = self.proc.pid

    def wait_ready(self, path, headers=None, timeout=60.0):
        """Polls `path` until it answers 200; returns seconds since the process started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} before it "
                                 f"was ready:\n{self.tail()}")
            if http_status(path, headers, self.port) == 200:
                return time.monotonic() - self.started
            time.sleep(0.002)
        raise BenchError(f"{self.name} not ready on {path} after {timeout}s:\n{self.tail()}")

    def processes(self):
        """The server's pid and those of its descendants (nginx's workers under its master;
        a single-process server has none)."""
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += parents.get(pid, [])
        return found

    def cpu_seconds(self):
        """utime + stime of the server and its descendants."""
        total = 0
        for pid in self.processes():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime and stime are fields 14 and 15 of the file; fields[0] here is field 3.
            total += int(fields[11]) + int(fields[12])
        return total / s.CLK_TCK

    def status_kib(self, key):
        """`key` of /proc/<pid>/status (e.g. VmHWM), summed over the server and its
        descendants."""
        total = 0
        for pid in self.processes():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
                    break
            else:
                raise BenchError(f"{key} missing from /proc/{pid}/status")
        return total

    def log_bytes(self):
        """Bytes written to the log so far (None when the output is discarded)."""
        if not self.log:
            return None
        self.log.flush()
        return self.log_path.stat().st_size

    def tail(self, lines=20):
        if not self.log:
            return "(output discarded: BENCH_LOG_DIR=null)"
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, keep_log=False):
        """Terminates the server (SIGTERM, then SIGKILL after 15 s) and deletes its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            if not keep_log:
                self.log_path.unlink(missing_ok=True)


def http_status(path, headers=None, port=None):
    """The status of GET http://127.0.0.1:{port or PORT}{path}, or None when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port or s.PORT}{path}",
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return None


def run(argv, **kwargs):
    return subprocess.run([str(a) for a in argv], check=True, text=True, capture_output=True,
                          **kwargs).stdout


def wait_port_free(port=None):
    port = port or s.PORT
    for _ in range(500):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.02)
    raise BenchError(f"port {port} is still in use")


def quiesce():
    """Between two cases: write dirty pages back (`sync`) and pause, so that a case does not
    pay for the previous one's log writeback or lingering sockets (BENCH_SYNC, BENCH_PAUSE)."""
    if s.SYNC:
        subprocess.run(["sync"], check=True)
    time.sleep(s.PAUSE)
    wait_port_free()


class HostSample:
    """CPU steal and idle of the server's core (/proc/stat) and dirty + writeback page-cache
    bytes (/proc/meminfo), to tell a noisy measurement from a slow server."""

    def __init__(self):
        self.cpu = _cpu_jiffies(s.SERVER_CPU)
        self.dirty_kib = dirty_kib()

    def since(self):
        now = _cpu_jiffies(s.SERVER_CPU)
        delta = [b - a for a, b in zip(self.cpu, now)]
        total = sum(delta) or 1
        # user nice system idle iowait irq softirq steal
        return {"server_cpu_steal_pct": round(100 * delta[7] / total, 1),
                "server_cpu_iowait_pct": round(100 * delta[4] / total, 1),
                "dirty_kib_at_start": self.dirty_kib}


def _cpu_jiffies(cpu):
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            return [int(v) for v in line.split()[1:9]]
    return [0] * 8


def dirty_kib():
    """Dirty + Writeback from /proc/meminfo, in KiB."""
    total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(("Dirty:", "Writeback:")):
            total += int(line.split()[1])
    return total
