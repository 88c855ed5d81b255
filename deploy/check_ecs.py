#!/usr/bin/env python3
"""Offline checks of the ECS/Fargate deployment files in deploy/ecs/.

There is no AWS API to call from CI, so this checks what RegisterTaskDefinition, CreateService and
the Elastic Load Balancing v2 API would reject, plus the references between the files:

- *.task-definition.json (RegisterTaskDefinition input): known keys only, family, networkMode
  awsvpc, requiresCompatibilities FARGATE, a valid Fargate cpu/memory pair, containers with
  name/image/essential, port mappings, health checks, dependsOn, mount points, awslogs options,
  and an executionRoleArn wherever Fargate needs one (secrets, awslogs, private ECR images).
- *.service.json (CreateService input): known keys only, serviceName, a taskDefinition whose
  family is one of the task definition files, launchType FARGATE, subnets for awsvpc,
  loadBalancers whose containerName/containerPort exist in that task definition and whose target
  group is in alb.json with the same port.
- alb.json: target groups (name, target type ip, health check, deregistration delay),
  listener rules (unique priorities, path patterns, forwarding to a known target group), TLS at
  the edge (an HTTPS:443 listener with an ACM certificate and a TLS 1.2+ policy) and an HTTP:80
  listener that only redirects to HTTPS.
- the service containers (those running /app/service or setting SERVICEKIT_*) are
  authenticated: outside SERVICEKIT_ENV dev/test, SERVICEKIT__AUTH__ISSUERS names a real https
  issuer and audience (or comes from a Secrets Manager/SSM secret), and auth is not switched off.

Usage: check_ecs.py [DIR]   (default: the ecs/ folder next to this script)
Exits 1 and lists every problem found, or prints one line per file checked and exits 0.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from auth_issuers import VARIABLE, check_environment

# RegisterTaskDefinition request parameters.
TASK_KEYS = {
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
    "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory", "tags",
    "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage",
    "runtimePlatform", "enableFaultInjection",
}
# ContainerDefinition fields.
CONTAINER_KEYS = {
    "name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links",
    "portMappings", "essential", "restartPolicy", "entryPoint", "command", "environment",
    "environmentFiles", "mountPoints", "volumesFrom", "linuxParameters", "secrets", "dependsOn",
    "startTimeout", "stopTimeout", "versionConsistency", "hostname", "user", "workingDirectory",
    "disableNetworking", "privileged", "readonlyRootFilesystem", "dnsServers",
    "dnsSearchDomains", "extraHosts", "dockerSecurityOptions", "interactive", "pseudoTerminal",
    "dockerLabels", "ulimits", "logConfiguration", "healthCheck", "systemControls",
    "resourceRequirements", "firelensConfiguration", "credentialSpecs",
}
PORT_MAPPING_KEYS = {"containerPort", "hostPort", "protocol", "name", "appProtocol",
                     "containerPortRange"}
HEALTH_CHECK_KEYS = {"command", "interval", "timeout", "retries", "startPeriod"}
# CreateService request parameters.
SERVICE_KEYS = {
    "cluster", "serviceName", "taskDefinition", "availabilityZoneRebalancing", "loadBalancers",
    "serviceRegistries", "desiredCount", "clientToken", "launchType",
    "capacityProviderStrategy", "platformVersion", "role", "deploymentConfiguration",
    "placementConstraints", "placementStrategy", "networkConfiguration",
    "healthCheckGracePeriodSeconds", "schedulingStrategy", "deploymentController", "tags",
    "enableECSManagedTags", "propagateTags", "enableExecuteCommand",
    "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations",
}
FARGATE_LOG_DRIVERS = {"awslogs", "splunk", "awsfirelens"}
# Fargate's largest stopTimeout, in seconds.
FARGATE_MAX_STOP_TIMEOUT = 120

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
SECRET_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+(:[^:]*:[^:]*:[^:]*)?"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/[\w/+=.@-]+)$"
)
TARGET_GROUP_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/([A-Za-z0-9-]{1,32})/[0-9a-f]+$"
)
TARGET_GROUP_NAME_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$")
CERTIFICATE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")


def fargate_combinations() -> dict[int, set[int]]:
    """Valid Fargate task memory (MiB) for each task cpu (units)."""
    gib = 1024
    return {
        256: {512, 1024, 2048},
        512: {1024, 2048, 3072, 4096},
        1024: set(range(2 * gib, 8 * gib + 1, gib)),
        2048: set(range(4 * gib, 16 * gib + 1, gib)),
        4096: set(range(8 * gib, 30 * gib + 1, gib)),
        8192: set(range(16 * gib, 60 * gib + 1, 4 * gib)),
        16384: set(range(32 * gib, 120 * gib + 1, 8 * gib)),
    }


def parse_cpu(value) -> int | None:
    """Task cpu in units: "512", 512 or "0.5 vCPU"."""
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*vcpu", text, re.IGNORECASE)
    if m:
        return int(float(m.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def parse_memory(value) -> int | None:
    """Task memory in MiB: "1024", 1024 or "1 GB"."""
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*gb", text, re.IGNORECASE)
    if m:
        return int(float(m.group(1)) * 1024)
    return int(text) if text.isdigit() else None


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def unknown_keys(self, where: str, obj: dict, allowed: set[str]) -> None:
        for key in sorted(set(obj) - allowed):
            self.fail(where, f"unknown field `{key}` (not a parameter of the API input)")

    def is_int(self, where: str, value, low: int, high: int) -> bool:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(where, f"must be an integer from {low} to {high}, found {value!r}")
            return False
        return True

    # RegisterTaskDefinition

    def task_definition(self, path: Path, td: dict) -> None:
        f = path.name
        self.unknown_keys(f, td, TASK_KEYS)
        family = td.get("family")
        if not isinstance(family, str) or not NAME_RE.match(family):
            self.fail(f, "`family` is required: letters, digits, `-` and `_`, up to 255")
        if td.get("networkMode") != "awsvpc":
            self.fail(f, f"`networkMode` must be `awsvpc` on Fargate, found {td.get('networkMode')!r}")
        compat = td.get("requiresCompatibilities")
        if not isinstance(compat, list) or "FARGATE" not in compat:
            self.fail(f, "`requiresCompatibilities` must include `FARGATE`")
        self.cpu_memory(f, td)
        for key in ("executionRoleArn", "taskRoleArn"):
            if key in td and not ROLE_ARN_RE.match(str(td[key])):
                self.fail(f, f"`{key}` is not an IAM role ARN: {td[key]!r}")

        volumes = td.get("volumes", [])
        volume_names = {v.get("name") for v in volumes if isinstance(v, dict)}
        containers = td.get("containerDefinitions")
        if not isinstance(containers, list) or not containers:
            self.fail(f, "`containerDefinitions` must be a non-empty list")
            return
        names = [c.get("name") for c in containers if isinstance(c, dict)]
        for dup in sorted({n for n in names if names.count(n) > 1 and n}):
            self.fail(f, f"container name `{dup}` is used twice")
        if not any(isinstance(c, dict) and c.get("essential") is True for c in containers):
            self.fail(f, "at least one container must be `essential: true`")

        needs_execution_role = []
        for i, c in enumerate(containers):
            where = f"{f}: containerDefinitions[{i}]"
            if not isinstance(c, dict):
                self.fail(where, "must be an object")
                continue
            reasons = self.container(where, c, set(names), volume_names)
            needs_execution_role += [f"{c.get('name')}: {r}" for r in reasons]
        if needs_execution_role and "executionRoleArn" not in td:
            self.fail(f, "`executionRoleArn` is required on Fargate for "
                      + "; ".join(needs_execution_role))

    def cpu_memory(self, f: str, td: dict) -> None:
        if "cpu" not in td or "memory" not in td:
            self.fail(f, "task-level `cpu` and `memory` are required on Fargate")
            return
        cpu, memory = parse_cpu(td["cpu"]), parse_memory(td["memory"])
        valid = fargate_combinations()
        if cpu not in valid:
            self.fail(f, f"`cpu` {td['cpu']!r} is not a Fargate size ({sorted(valid)})")
        elif memory not in valid[cpu]:
            self.fail(f, f"`memory` {td['memory']!r} is not valid with cpu {cpu} on Fargate "
                      f"(from {min(valid[cpu])} to {max(valid[cpu])} MiB in the documented steps)")

    def container(self, where: str, c: dict, all_names: set, volume_names: set) -> list[str]:
        """Checks one container definition; returns why it needs an execution role, if it does."""
        name = c.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.fail(where, "`name` is required: letters, digits, `-` and `_`")
        else:
            where = f"{where} ({name})"
        self.unknown_keys(where, c, CONTAINER_KEYS)
        if not isinstance(c.get("image"), str) or not c["image"].strip():
            self.fail(where, "`image` is required")
        if not isinstance(c.get("essential"), bool):
            self.fail(where, "`essential` must be set explicitly to true or false")

        ports = c.get("portMappings", [])
        seen_ports, seen_names = set(), set()
        for j, pm in enumerate(ports):
            pw = f"{where}: portMappings[{j}]"
            self.unknown_keys(pw, pm, PORT_MAPPING_KEYS)
            if not self.is_int(f"{pw}.containerPort", pm.get("containerPort"), 1, 65535):
                continue
            if "hostPort" in pm and pm["hostPort"] != pm["containerPort"]:
                self.fail(pw, "with awsvpc, `hostPort` must equal `containerPort` or be omitted")
            if pm.get("protocol", "tcp") not in ("tcp", "udp"):
                self.fail(pw, f"`protocol` must be tcp or udp, found {pm.get('protocol')!r}")
            if pm["containerPort"] in seen_ports:
                self.fail(pw, f"port {pm['containerPort']} is mapped twice")
            seen_ports.add(pm["containerPort"])
            if "name" in pm:
                if pm["name"] in seen_names:
                    self.fail(pw, f"port name `{pm['name']}` is used twice")
                seen_names.add(pm["name"])

        env_names = set()
        for j, e in enumerate(c.get("environment", [])):
            ew = f"{where}: environment[{j}]"
            if set(e) != {"name", "value"} or not all(isinstance(v, str) for v in e.values()):
                self.fail(ew, "must be {\"name\": string, \"value\": string}")
                continue
            if e["name"] in env_names:
                self.fail(ew, f"`{e['name']}` is set twice")
            env_names.add(e["name"])

        reasons = []
        secrets = c.get("secrets", [])
        for j, s in enumerate(secrets):
            sw = f"{where}: secrets[{j}]"
            if set(s) != {"name", "valueFrom"}:
                self.fail(sw, "must be {\"name\": ..., \"valueFrom\": ...}")
                continue
            if not SECRET_ARN_RE.match(s["valueFrom"]):
                self.fail(sw, f"`valueFrom` is not a Secrets Manager or SSM parameter ARN: "
                              f"{s['valueFrom']!r}")
            if s["name"] in env_names:
                self.fail(sw, f"`{s['name']}` is both in environment and secrets")
        if secrets:
            reasons.append("secrets")

        health_cmd = (c.get("healthCheck") or {}).get("command") or []
        if "/app/service" in health_cmd or any(
                str(n).startswith("SERVICEKIT") for n in env_names):
            env = {e.get("name"): e.get("value") for e in c.get("environment", [])}
            secret_names = {s.get("name") for s in secrets}
            if VARIABLE in secret_names:
                env[VARIABLE] = "[]"  # from a secret: the value is not in this file
                problems = [p for p in check_environment(env) if VARIABLE not in p]
            else:
                problems = check_environment(env)
            for problem in problems:
                self.fail(where, problem)

        hc = c.get("healthCheck")
        if hc is not None:
            hw = f"{where}: healthCheck"
            self.unknown_keys(hw, hc, HEALTH_CHECK_KEYS)
            cmd = hc.get("command")
            if (not isinstance(cmd, list) or len(cmd) < 2
                    or cmd[0] not in ("CMD", "CMD-SHELL")
                    or not all(isinstance(x, str) for x in cmd)):
                self.fail(hw, "`command` must be [\"CMD\", exe, args...] or [\"CMD-SHELL\", line]")
            for key, low, high in (("interval", 5, 300), ("timeout", 2, 120),
                                   ("retries", 1, 10), ("startPeriod", 0, 300)):
                if key in hc:
                    self.is_int(f"{hw}.{key}", hc[key], low, high)
            if hc.get("timeout", 5) >= hc.get("interval", 30):
                self.fail(hw, "`timeout` must be shorter than `interval`")

        if "stopTimeout" in c:
            self.is_int(f"{where}: stopTimeout", c["stopTimeout"], 0, FARGATE_MAX_STOP_TIMEOUT)

        for j, d in enumerate(c.get("dependsOn", [])):
            dw = f"{where}: dependsOn[{j}]"
            if d.get("containerName") not in all_names or d.get("containerName") == name:
                self.fail(dw, f"`containerName` {d.get('containerName')!r} is not another "
                              "container of this task")
            if d.get("condition") not in ("START", "COMPLETE", "SUCCESS", "HEALTHY"):
                self.fail(dw, f"`condition` {d.get('condition')!r} is not START, COMPLETE, "
                              "SUCCESS or HEALTHY")

        for j, m in enumerate(c.get("mountPoints", [])):
            if m.get("sourceVolume") not in volume_names:
                self.fail(f"{where}: mountPoints[{j}]",
                          f"`sourceVolume` {m.get('sourceVolume')!r} is not in `volumes`")
            if not str(m.get("containerPath", "")).startswith("/"):
                self.fail(f"{where}: mountPoints[{j}]", "`containerPath` must be absolute")

        log = c.get("logConfiguration")
        if log is not None:
            lw = f"{where}: logConfiguration"
            driver = log.get("logDriver")
            if driver not in FARGATE_LOG_DRIVERS:
                self.fail(lw, f"`logDriver` {driver!r} is not supported on Fargate "
                              f"({sorted(FARGATE_LOG_DRIVERS)})")
            if driver == "awslogs":
                opts = log.get("options", {})
                for key in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix"):
                    if not opts.get(key):
                        self.fail(lw, f"awslogs needs option `{key}` on Fargate")
                if any(not isinstance(v, str) for v in opts.values()):
                    self.fail(lw, "log options must all be strings")
                reasons.append("the awslogs log driver")
        if ".dkr.ecr." in str(c.get("image", "")):
            reasons.append("pulling from private ECR")
        return reasons

    # CreateService

    def service(self, path: Path, svc: dict, tasks: dict[str, dict], alb: dict | None) -> None:
        f = path.name
        self.unknown_keys(f, svc, SERVICE_KEYS)
        if not isinstance(svc.get("serviceName"), str) or not NAME_RE.match(svc["serviceName"]):
            self.fail(f, "`serviceName` is required: letters, digits, `-` and `_`")
        ref = svc.get("taskDefinition")
        td = None
        if not isinstance(ref, str) or not ref:
            self.fail(f, "`taskDefinition` is required")
        else:
            # family, family:revision or a task definition ARN.
            family = ref.rsplit("task-definition/", 1)[-1].split(":", 1)[0]
            td = tasks.get(family)
            if td is None:
                self.fail(f, f"`taskDefinition` {ref!r} names no task definition in this folder "
                             f"(families: {sorted(tasks)})")
        if svc.get("launchType") != "FARGATE":
            self.fail(f, f"`launchType` must be FARGATE, found {svc.get('launchType')!r}")
        if "launchType" in svc and "capacityProviderStrategy" in svc:
            self.fail(f, "`launchType` and `capacityProviderStrategy` exclude each other")
        if "desiredCount" in svc:
            self.is_int(f"{f}: desiredCount", svc["desiredCount"], 0, 100000)
        dc = svc.get("deploymentConfiguration", {})
        lo, hi = dc.get("minimumHealthyPercent", 100), dc.get("maximumPercent", 200)
        if self.is_int(f"{f}: deploymentConfiguration.minimumHealthyPercent", lo, 0, 100) and \
                self.is_int(f"{f}: deploymentConfiguration.maximumPercent", hi, 100, 2000):
            if lo == 100 and hi == 100:
                self.fail(f, "deploymentConfiguration 100/100 leaves no room for a rolling update")
        awsvpc = svc.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        if not awsvpc.get("subnets"):
            self.fail(f, "networkConfiguration.awsvpcConfiguration.subnets is required for awsvpc")
        if awsvpc.get("assignPublicIp", "DISABLED") not in ("ENABLED", "DISABLED"):
            self.fail(f, "`assignPublicIp` must be ENABLED or DISABLED")

        lbs = svc.get("loadBalancers", [])
        if "healthCheckGracePeriodSeconds" in svc:
            self.is_int(f"{f}: healthCheckGracePeriodSeconds",
                        svc["healthCheckGracePeriodSeconds"], 0, 2147483647)
            if not lbs:
                self.fail(f, "`healthCheckGracePeriodSeconds` needs `loadBalancers`")
        groups = {g.get("Name"): g for g in (alb or {}).get("targetGroups", [])}
        for i, lb in enumerate(lbs):
            lw = f"{f}: loadBalancers[{i}]"
            if td is not None:
                container = next((c for c in td.get("containerDefinitions", [])
                                  if c.get("name") == lb.get("containerName")), None)
                if container is None:
                    self.fail(lw, f"`containerName` {lb.get('containerName')!r} is not a container "
                                  f"of task definition {td.get('family')!r}")
                elif lb.get("containerPort") not in [
                        p.get("containerPort") for p in container.get("portMappings", [])]:
                    self.fail(lw, f"`containerPort` {lb.get('containerPort')!r} is not in the "
                                  f"port mappings of container {lb.get('containerName')!r}")
            m = TARGET_GROUP_ARN_RE.match(str(lb.get("targetGroupArn", "")))
            if not m:
                self.fail(lw, f"`targetGroupArn` is not a target group ARN: "
                              f"{lb.get('targetGroupArn')!r}")
            elif alb is not None:
                group = groups.get(m.group(1))
                if group is None:
                    self.fail(lw, f"target group `{m.group(1)}` is not in alb.json")
                elif group.get("Port") != lb.get("containerPort"):
                    self.fail(lw, f"target group `{m.group(1)}` has port {group.get('Port')}, "
                                  f"the container port is {lb.get('containerPort')}")

        sc = svc.get("serviceConnectConfiguration")
        if sc and td is not None:
            port_names = {p.get("name") for c in td.get("containerDefinitions", [])
                          for p in c.get("portMappings", [])}
            for i, s in enumerate(sc.get("services", [])):
                if s.get("portName") not in port_names:
                    self.fail(f"{f}: serviceConnectConfiguration.services[{i}]",
                              f"`portName` {s.get('portName')!r} is not a named port mapping")
            if sc.get("enabled") and not sc.get("namespace"):
                self.fail(f, "serviceConnectConfiguration needs a `namespace`")

    # Elastic Load Balancing v2

    def alb(self, path: Path, alb: dict) -> None:
        f = path.name
        groups = alb.get("targetGroups")
        if not isinstance(groups, list) or not groups:
            self.fail(f, "`targetGroups` must be a non-empty list")
            groups = []
        names = set()
        for i, g in enumerate(groups):
            gw = f"{f}: targetGroups[{i}]"
            name = g.get("Name")
            if not isinstance(name, str) or not TARGET_GROUP_NAME_RE.match(name):
                self.fail(gw, "`Name`: up to 32 letters, digits and `-`, not starting or "
                              "ending with `-`")
            else:
                gw = f"{gw} ({name})"
            if name in names:
                self.fail(gw, "target group name used twice")
            names.add(name)
            if g.get("TargetType") != "ip":
                self.fail(gw, "`TargetType` must be `ip` for awsvpc (Fargate) tasks")
            if g.get("Protocol") not in ("HTTP", "HTTPS"):
                self.fail(gw, "`Protocol` must be HTTP or HTTPS")
            self.is_int(f"{gw}.Port", g.get("Port"), 1, 65535)
            if not str(g.get("HealthCheckPath", "")).startswith("/"):
                self.fail(gw, "`HealthCheckPath` must be an absolute path")
            if not re.fullmatch(r"\d{3}([-,]\d{3})*", str(g.get("Matcher", {}).get("HttpCode", ""))):
                self.fail(gw, "`Matcher.HttpCode` must be codes such as `200` or `200-299`")
            interval = g.get("HealthCheckIntervalSeconds", 30)
            timeout = g.get("HealthCheckTimeoutSeconds", 5)
            if self.is_int(f"{gw}.HealthCheckIntervalSeconds", interval, 5, 300) and \
                    self.is_int(f"{gw}.HealthCheckTimeoutSeconds", timeout, 2, 120) and \
                    timeout >= interval:
                self.fail(gw, "`HealthCheckTimeoutSeconds` must be shorter than the interval")
            for key in ("HealthyThresholdCount", "UnhealthyThresholdCount"):
                if key in g:
                    self.is_int(f"{gw}.{key}", g[key], 2, 10)
            attrs = {a.get("Key"): a.get("Value") for a in g.get("Attributes", [])}
            delay = attrs.get("deregistration_delay.timeout_seconds")
            if delay is None:
                self.fail(gw, "set attribute `deregistration_delay.timeout_seconds` (the default "
                              "is 300s: every deployment would wait 5 minutes per task)")
            elif not (isinstance(delay, str) and delay.isdigit() and int(delay) <= 3600):
                self.fail(gw, "`deregistration_delay.timeout_seconds` must be a string of 0-3600")

        check_listeners(self, f, alb)

        rules = alb.get("listenerRules")
        if not isinstance(rules, list) or not rules:
            self.fail(f, "`listenerRules` must be a non-empty list")
            rules = []
        priorities, routed = set(), set()
        for i, r in enumerate(rules):
            rw = f"{f}: listenerRules[{i}]"
            p = r.get("Priority")
            if self.is_int(f"{rw}.Priority", p, 1, 50000):
                if p in priorities:
                    self.fail(rw, f"priority {p} is used twice")
                priorities.add(p)
            conds = r.get("Conditions", [])
            patterns = [v for c in conds if c.get("Field") == "path-pattern"
                        for v in c.get("PathPatternConfig", {}).get("Values", [])]
            if not conds:
                self.fail(rw, "a rule needs at least one condition")
            for v in patterns:
                if not v.startswith("/") or len(v) > 128:
                    self.fail(rw, f"path pattern {v!r} must start with `/`, up to 128 characters")
            actions = r.get("Actions", [])
            forwards = [a for a in actions if a.get("Type") == "forward"]
            if not forwards:
                self.fail(rw, "expected a `forward` action")
            for a in forwards:
                m = TARGET_GROUP_ARN_RE.match(str(a.get("TargetGroupArn", "")))
                if not m:
                    self.fail(rw, f"`TargetGroupArn` is not a target group ARN: "
                                  f"{a.get('TargetGroupArn')!r}")
                elif m.group(1) not in names:
                    self.fail(rw, f"forwards to target group `{m.group(1)}`, not in targetGroups")
                else:
                    routed.add(m.group(1))
        for name in sorted(names - routed - {None}):
            self.fail(f, f"target group `{name}` gets no traffic: no listener rule forwards to it")


def check_listeners(checker: Checker, f: str, alb: dict) -> None:
    """TLS at the edge: HTTPS on 443 with an ACM certificate, HTTP on 80 only redirecting."""
    https = alb.get("listener") or {}
    if https.get("Protocol") != "HTTPS" or https.get("Port") != 443:
        checker.fail(f, "`listener` must be Protocol HTTPS on Port 443 (TLS at the edge)")
    certs = https.get("Certificates") or []
    if not certs or not all(CERTIFICATE_ARN_RE.match(str(c.get("CertificateArn", "")))
                            for c in certs):
        checker.fail(f, "`listener.Certificates` must name an ACM certificate ARN")
    if not str(https.get("SslPolicy", "")).startswith("ELBSecurityPolicy-TLS13"):
        checker.fail(f, "`listener.SslPolicy` must be a TLS 1.3 policy (ELBSecurityPolicy-TLS13-*)")
    http = alb.get("redirectListener")
    if not isinstance(http, dict):
        checker.fail(f, "`redirectListener` (HTTP:80 redirecting to HTTPS) is missing")
        return
    if http.get("Protocol") != "HTTP" or http.get("Port") != 80:
        checker.fail(f, "`redirectListener` must be Protocol HTTP on Port 80")
    actions = http.get("DefaultActions") or []
    redirect = (actions[0].get("RedirectConfig") or {}) if len(actions) == 1 else {}
    if not (len(actions) == 1 and actions[0].get("Type") == "redirect"
            and redirect.get("Protocol") == "HTTPS" and str(redirect.get("Port")) == "443"
            and redirect.get("StatusCode") in ("HTTP_301", "HTTP_302")):
        checker.fail(f, "`redirectListener` must only redirect to HTTPS on port 443 (one "
                        "`redirect` action, StatusCode HTTP_301)")


def load(checker: Checker, path: Path):
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        checker.fail(path.name, f"cannot read JSON: {e}")
        return None
    if not isinstance(data, dict):
        checker.fail(path.name, "must be a JSON object")
        return None
    return data


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "ecs"
    checker = Checker()
    task_files = sorted(folder.glob("*.task-definition.json"))
    service_files = sorted(folder.glob("*.service.json"))
    alb_file = folder / "alb.json"
    if not task_files:
        checker.fail(str(folder), "no *.task-definition.json files")
    if not service_files:
        checker.fail(str(folder), "no *.service.json files")

    alb = None
    if alb_file.exists():
        alb = load(checker, alb_file)
        if alb is not None:
            checker.alb(alb_file, alb)
    else:
        checker.fail(str(folder), "alb.json is missing")

    tasks: dict[str, dict] = {}
    for path in task_files:
        td = load(checker, path)
        if td is None:
            continue
        checker.task_definition(path, td)
        family = td.get("family")
        if family in tasks:
            checker.fail(path.name, f"family `{family}` is defined by two files")
        tasks[family] = td
    for path in service_files:
        svc = load(checker, path)
        if svc is not None:
            checker.service(path, svc, tasks, alb)

    if checker.problems:
        print(f"ECS check FAILED ({len(checker.problems)} problems):", file=sys.stderr)
        for p in checker.problems:
            print(f"  {folder}/{p}", file=sys.stderr)
        return 1
    for path in [*task_files, *service_files, alb_file]:
        print(f"ok  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
