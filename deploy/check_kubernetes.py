#!/usr/bin/env python3
"""Offline checks of Kubernetes manifests beyond their schemas (kubernetes-validate does those).

For each Deployment in the given files (taken together, so references between files resolve):

- authenticated: outside SERVICEKIT_ENV dev/test the container sets SERVICEKIT__AUTH__ISSUERS
  to a real https issuer with an audience (after expanding `$(VAR)` from the container's env,
  ConfigMap keys included), and does not switch auth off;
- shared state: with more than one replica (or an HPA), DATABASE_URL comes from a Secret, never
  a per-pod SQLite file (except for STATELESS deployments: the gateway);
- hardened: non-root, read-only root filesystem, no privilege escalation, every capability
  dropped, a CPU and a memory limit;
- probed: startup, readiness and liveness probes, the readiness timeout longer than the health
  check's own timeout (health.check_timeout, 2s by default);
- scaled: a HorizontalPodAutoscaler on CPU at 70% and a PodDisruptionBudget selecting its pods.

Every Ingress terminates TLS: a `tls` entry with a certificate Secret covering each rule's host.

Usage: check_kubernetes.py FILE...   (exits 1 listing every problem, else one line per file)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from auth_issuers import check_environment

# health.check_timeout's default, in seconds (framework/src/health/config.rs).
HEALTH_CHECK_TIMEOUT = 2
CPU_TARGET = 70
# Deployments that keep no state of their own and so need no shared database at any replica
# count: the gateway (its route table is a ConfigMap).
STATELESS = {"gateway"}
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv[1:]]
    if not files:
        print("usage: check_kubernetes.py FILE...", file=sys.stderr)
        return 2
    problems: list[str] = []
    docs: list[tuple[Path, dict]] = []
    for path in files:
        try:
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict):
                    docs.append((path, doc))
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{path}: cannot read: {e}")

    def of_kind(kind: str) -> list[tuple[Path, dict]]:
        return [(p, d) for p, d in docs if d.get("kind") == kind]

    config_maps = {d["metadata"]["name"]: d.get("data") or {} for _, d in of_kind("ConfigMap")}
    hpas = [d for _, d in of_kind("HorizontalPodAutoscaler")]
    pdbs = [d for _, d in of_kind("PodDisruptionBudget")]

    for path, dep in of_kind("Deployment"):
        name = dep["metadata"]["name"]

        def fail(message: str) -> None:
            problems.append(f"{path}: Deployment {name}: {message}")

        spec = dep.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        hpa = next((h for h in hpas if (h["spec"].get("scaleTargetRef") or {}).get("name") == name
                    and h["spec"]["scaleTargetRef"].get("kind") == "Deployment"), None)
        if hpa is None:
            fail("no HorizontalPodAutoscaler targets it")
        else:
            cpu = [m for m in hpa["spec"].get("metrics") or []
                   if m.get("type") == "Resource" and m["resource"].get("name") == "cpu"]
            if not cpu or cpu[0]["resource"]["target"].get("averageUtilization") != CPU_TARGET:
                fail(f"its HPA must scale on CPU at averageUtilization {CPU_TARGET}")
        selects = lambda sel: sel and all(labels.get(k) == v for k, v in
                                          (sel.get("matchLabels") or {}).items())
        if not any(selects((p["spec"].get("selector") or {})) for p in pdbs):
            fail("no PodDisruptionBudget selects its pods")
        replicas = max(spec.get("replicas", 1), (hpa or {}).get("spec", {}).get("minReplicas", 1),
                       (hpa or {}).get("spec", {}).get("maxReplicas", 1))

        pod_sc = pod.get("securityContext") or {}
        containers = pod.get("containers") or []
        if not containers:
            fail("has no containers")
        for c in containers:
            cw = f"container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                fail(f"{cw}: set runAsNonRoot: true")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(f"{cw}: set securityContext.readOnlyRootFilesystem: true")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{cw}: set securityContext.allowPrivilegeEscalation: false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                fail(f"{cw}: drop every capability (securityContext.capabilities.drop: [ALL])")
            limits = (c.get("resources") or {}).get("limits") or {}
            for resource in ("cpu", "memory"):
                if resource not in limits:
                    fail(f"{cw}: set resources.limits.{resource}")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe not in c:
                    fail(f"{cw}: has no {probe}")
            timeout = (c.get("readinessProbe") or {}).get("timeoutSeconds", 1)
            if timeout <= HEALTH_CHECK_TIMEOUT:
                fail(f"{cw}: readinessProbe.timeoutSeconds ({timeout}) must be longer than "
                     f"health.check_timeout ({HEALTH_CHECK_TIMEOUT}s)")

            env, sources = expand_env(c.get("env") or [], config_maps, fail, cw)
            if replicas > 1 and name not in STATELESS and sources.get("DATABASE_URL") != "secret":
                fail(f"{cw}: {replicas} replicas need a shared database: set DATABASE_URL from "
                     "a Secret (valueFrom.secretKeyRef), not per-pod SQLite")
            for problem in check_environment(env):
                fail(f"{cw}: {problem}")

    for path, ing in of_kind("Ingress"):
        name = ing["metadata"]["name"]
        spec = ing.get("spec") or {}
        tls = spec.get("tls") or []
        covered = {h for t in tls for h in t.get("hosts") or []}
        if not tls:
            problems.append(f"{path}: Ingress {name}: no `tls`: traffic would be plain HTTP")
        for i, t in enumerate(tls):
            if not t.get("secretName"):
                problems.append(f"{path}: Ingress {name}: tls[{i}] names no certificate Secret")
        for i, rule in enumerate(spec.get("rules") or []):
            host = rule.get("host")
            if not host:
                problems.append(f"{path}: Ingress {name}: rules[{i}] has no host, so no "
                                "certificate can cover it")
            elif host not in covered:
                problems.append(f"{path}: Ingress {name}: host {host} is not under `tls`")

    if problems:
        print(f"Kubernetes check FAILED ({len(problems)} problems):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    for path in files:
        print(f"ok  {path} (auth, TLS, hardening, scaling)")
    return 0


def expand_env(entries, config_maps, fail, where):
    """The container's variables as Kubernetes sets them: literal values, ConfigMap keys, and
    `$(VAR)` references to earlier variables expanded. Secret values stay unknown (None)."""
    env: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for e in entries:
        name = e.get("name")
        source = e.get("valueFrom") or {}
        if "value" in e:
            value = REFERENCE.sub(lambda m: env.get(m.group(1)) or m.group(0), str(e["value"]))
            env[name], sources[name] = value, "value"
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = config_maps.get(ref.get("name"))
            if data is None or ref.get("key") not in data:
                fail(f"{where}: {name} reads ConfigMap {ref.get('name')} key {ref.get('key')}, "
                     "which is not in these files")
                env[name] = None
            else:
                env[name] = str(data[ref["key"]])
            sources[name] = "configmap"
        elif "secretKeyRef" in source:
            env[name], sources[name] = None, "secret"
        else:
            env[name], sources[name] = None, "other"
    return env, sources


if __name__ == "__main__":
    sys.exit(main(sys.argv))
