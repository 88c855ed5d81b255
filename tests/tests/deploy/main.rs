//! The deployment files in `deploy/` agree with what the services do by default.
//!
//! Ports, probe paths, the metrics path and the drain timing are read from the framework's
//! defaults (`ServerConfig`, `HealthConfig`, `TelemetryConfig`, `DatabaseConfig`), so that a
//! change there fails here until the Kubernetes manifests, the ECS task definitions and services,
//! the ALB description, the Dockerfile and the compose file follow. Their schemas are checked
//! separately by `deploy/validate.sh`.

mod security;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use servicekit::config::{DatabaseConfig, HealthConfig, ServerConfig, TelemetryConfig};
use servicekit::server::{POOL_CLOSE_TIMEOUT, TRACE_FLUSH_TIMEOUT};

/// subject-service's default port.
const SUBJECT_SERVICE_PORT: u16 = subject_service::DEFAULT_PORT;

/// The name of subject-service's student-service client: its `[clients.<name>]` table, and so
/// its environment variable.
const STUDENT_CLIENT: &str = subject_service::STUDENT_SERVICE;

struct Svc {
    name: &'static str,
    port: u16,
}

fn services() -> [Svc; 2] {
    [
        Svc {
            name: student_service::NAME,
            port: ServerConfig::default().port,
        },
        Svc {
            name: subject_service::NAME,
            port: SUBJECT_SERVICE_PORT,
        },
    ]
}

/// SIGTERM to exit at worst, with the defaults: drain delay, in-flight deadline, pool close,
/// trace flush.
fn shutdown_budget() -> Duration {
    let server = ServerConfig::default();
    server.drain_delay + server.shutdown_timeout + POOL_CLOSE_TIMEOUT + TRACE_FLUSH_TIMEOUT
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a (multi-document) YAML file, as JSON values.
fn yaml_docs(rel: &str) -> Vec<Value> {
    let text = read(rel);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The value at a JSON pointer, or a panic naming the file and the pointer.
fn at<'a>(value: &'a Value, pointer: &str, file: &str) -> &'a Value {
    value
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{file}: nothing at {pointer}"))
}

fn int(value: &Value, pointer: &str, file: &str) -> u64 {
    at(value, pointer, file)
        .as_u64()
        .unwrap_or_else(|| panic!("{file}: {pointer} is not a non-negative integer"))
}

fn string<'a>(value: &'a Value, pointer: &str, file: &str) -> &'a str {
    at(value, pointer, file)
        .as_str()
        .unwrap_or_else(|| panic!("{file}: {pointer} is not a string"))
}

fn secs(value: u64) -> Duration {
    Duration::from_secs(value)
}

/// The document of `kind` named `name`.
fn resource<'a>(docs: &'a [Value], kind: &str, name: &str, file: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{file}: no {kind} named {name}"))
}

/// The entry named `name` of a `[{"name": ..}, ..]` list (env, ports, containers).
fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|e| e["name"] == name)
}

/// The literal value of environment variable `name` in a Kubernetes or ECS container.
fn env<'a>(container: &'a Value, list: &str, name: &str, file: &str) -> &'a str {
    named(&container[list], name)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("{file}: container {} sets no {name}", container["name"]))
}

/// The environment variable that sets `clients.<client>.base_url`: `SERVICEKIT__` plus the
/// dotted key with `.` as `__`, upper-cased. The framework lower-cases it back, so the client's
/// `-` must stay a `-` (an `_` would name another client).
fn client_base_url_var(client: &str) -> String {
    format!(
        "SERVICEKIT__CLIENTS__{}__BASE_URL",
        client.to_ascii_uppercase()
    )
}

#[test]
fn kubernetes_deployments_match_the_service_defaults() {
    let health = HealthConfig::default();
    let database = DatabaseConfig::default();
    let metrics_path = TelemetryConfig::default().metrics_path;
    for svc in services() {
        let file = format!("deploy/kubernetes/{}.yaml", svc.name);
        let docs = yaml_docs(&file);
        let deployment = resource(&docs, "Deployment", svc.name, &file);
        let pod = at(deployment, "/spec/template", &file);
        let container = named(at(pod, "/spec/containers", &file), svc.name)
            .unwrap_or_else(|| panic!("{file}: no container named {}", svc.name));

        let http = named(&container["ports"], "http")
            .unwrap_or_else(|| panic!("{file}: no container port named http"));
        assert_eq!(
            int(http, "/containerPort", &file),
            u64::from(svc.port),
            "{file}"
        );
        assert_eq!(
            env(container, "env", "PORT", &file),
            svc.port.to_string(),
            "{file}"
        );

        for (probe, path) in [
            ("startupProbe", &health.startup_path),
            ("readinessProbe", &health.ready_path),
            ("livenessProbe", &health.live_path),
        ] {
            let get = at(container, &format!("/{probe}/httpGet"), &file);
            assert_eq!(string(get, "/path", &file), path, "{file}: {probe}");
            assert_eq!(
                get["port"], "http",
                "{file}: {probe} must probe the http port"
            );
        }
        // A slow dependency must show up as a 503 naming the check, not as a probe timeout.
        assert!(
            secs(int(container, "/readinessProbe/timeoutSeconds", &file)) > health.check_timeout,
            "{file}: readinessProbe.timeoutSeconds must exceed health.check_timeout ({:?})",
            health.check_timeout
        );
        // The startup probe must outlast the database retries, or a slow database restarts
        // the pod before the service would have given up by itself.
        let startup_window = int(container, "/startupProbe/periodSeconds", &file)
            * int(container, "/startupProbe/failureThreshold", &file);
        assert!(
            secs(startup_window) > database.startup_timeout,
            "{file}: the startup probe gives up after {startup_window}s, before \
             database.startup_timeout ({:?})",
            database.startup_timeout
        );

        let grace = int(pod, "/spec/terminationGracePeriodSeconds", &file);
        assert!(
            secs(grace) >= shutdown_budget(),
            "{file}: terminationGracePeriodSeconds {grace} is shorter than drain_delay + \
             shutdown_timeout + pool close + trace flush ({:?})",
            shutdown_budget()
        );
        // The service drains by itself on SIGTERM; a preStop sleep would eat into the grace
        // period above, which then has to grow by as much.
        assert!(
            container.pointer("/lifecycle/preStop").is_none(),
            "{file}: a preStop hook needs terminationGracePeriodSeconds raised by its length"
        );

        let annotations = at(pod, "/metadata/annotations", &file);
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{file}");
        assert_eq!(
            annotations["prometheus.io/port"],
            svc.port.to_string(),
            "{file}"
        );
        assert_eq!(annotations["prometheus.io/path"], metrics_path, "{file}");

        let secret = at(
            named(&container["env"], "DATABASE_URL")
                .unwrap_or_else(|| panic!("{file}: DATABASE_URL is not set")),
            "/valueFrom/secretKeyRef",
            &file,
        );
        assert_eq!(secret["name"], format!("{}-db", svc.name), "{file}");
        assert_eq!(secret["key"], "url", "{file}");
        assert!(
            secret.get("optional") != Some(&Value::Bool(true)),
            "{file}: without DATABASE_URL each pod would have its own SQLite file"
        );

        let security = at(container, "/securityContext", &file);
        assert_eq!(security["readOnlyRootFilesystem"], true, "{file}");
        assert_eq!(
            pod["spec"]["securityContext"]["runAsNonRoot"], true,
            "{file}"
        );
        // With a read-only root, the data folder the image points the service at must be a
        // volume.
        let mounts = at(container, "/volumeMounts", &file).as_array().unwrap();
        assert!(
            mounts.iter().any(|m| m["mountPath"] == image_data_dir()),
            "{file}: no volume at {} (database.data_dir in the image)",
            image_data_dir()
        );
    }
}

#[test]
fn kubernetes_services_autoscaling_and_policies_select_the_pods() {
    for svc in services() {
        let file = format!("deploy/kubernetes/{}.yaml", svc.name);
        let docs = yaml_docs(&file);
        let deployment = resource(&docs, "Deployment", svc.name, &file);
        let labels = at(deployment, "/spec/template/metadata/labels", &file);
        let selector = at(deployment, "/spec/selector/matchLabels", &file);
        assert_eq!(selector["app.kubernetes.io/name"], svc.name, "{file}");
        let selects_pods = |sel: &Value| {
            sel.as_object()
                .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| &labels[k] == v))
        };

        let service = resource(&docs, "Service", svc.name, &file);
        assert!(
            selects_pods(&service["spec"]["selector"]),
            "{file}: Service selector"
        );
        let port = named(&service["spec"]["ports"], "http")
            .unwrap_or_else(|| panic!("{file}: the Service has no port named http"));
        assert_eq!(port["targetPort"], "http", "{file}: Service targetPort");

        let hpa = resource(&docs, "HorizontalPodAutoscaler", svc.name, &file);
        assert_eq!(hpa["apiVersion"], "autoscaling/v2", "{file}");
        assert_eq!(
            hpa["spec"]["scaleTargetRef"]["kind"], "Deployment",
            "{file}"
        );
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], svc.name, "{file}");
        assert!(
            int(hpa, "/spec/minReplicas", &file) >= 2,
            "{file}: minReplicas"
        );
        let cpu = hpa["spec"]["metrics"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["resource"]["name"] == "cpu"))
            .unwrap_or_else(|| panic!("{file}: the HPA has no CPU metric"));
        assert_eq!(
            cpu["resource"]["target"]["averageUtilization"], 70,
            "{file}"
        );
        assert!(
            at(
                deployment,
                "/spec/template/spec/containers/0/resources/requests/cpu",
                &file
            )
            .is_string(),
            "{file}: CPU utilization needs a CPU request"
        );

        let pdb = resource(&docs, "PodDisruptionBudget", svc.name, &file);
        assert_eq!(pdb["spec"]["minAvailable"], 1, "{file}");
        assert!(
            selects_pods(&pdb["spec"]["selector"]["matchLabels"]),
            "{file}: PDB"
        );

        let policy = resource(&docs, "NetworkPolicy", svc.name, &file);
        assert!(
            selects_pods(&policy["spec"]["podSelector"]["matchLabels"]),
            "{file}: NetworkPolicy podSelector"
        );
        let mut peers: Vec<String> = policy["spec"]["ingress"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: NetworkPolicy without ingress rules"))
            .iter()
            .flat_map(|rule| rule["from"].as_array().cloned().unwrap_or_default())
            .map(|peer| peer.to_string())
            .collect();
        peers.sort();
        // The public path is Ingress -> gateway -> services: only the gateway's pods (and, for
        // student-service, subject-service's) reach a service.
        let gateway_pods = serde_json::json!({
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}
        })
        .to_string();
        let subject_pods = serde_json::json!({
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "subject-service"}}
        })
        .to_string();
        let mut expected = match svc.name {
            "student-service" => vec![gateway_pods, subject_pods],
            _ => vec![gateway_pods],
        };
        expected.sort();
        assert_eq!(peers, expected, "{file}: who may reach {}", svc.name);
    }
}

#[test]
fn kubernetes_ingress_routes_each_path_to_its_service() {
    // Ingress -> gateway -> services: the Ingress sends each path to the gateway, whose route
    // table (the gateway-routes ConfigMap) sends it to the service, through a client whose
    // base URL is that service's Service.
    let file = "deploy/kubernetes/ingress.yaml";
    let docs = yaml_docs(file);
    let ingress = docs
        .iter()
        .find(|d| d["kind"] == "Ingress")
        .expect("ingress.yaml has an Ingress");
    let paths: Vec<&Value> = at(ingress, "/spec/rules", file)
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["http"]["paths"].as_array().unwrap().iter())
        .collect();
    let gateway_file = "deploy/kubernetes/gateway.yaml";
    let gateway_docs = yaml_docs(gateway_file);
    let gateway_svc = resource(&gateway_docs, "Service", "gateway", gateway_file);
    let routes = string(
        resource(&gateway_docs, "ConfigMap", "gateway-routes", gateway_file),
        "/data/routes.toml",
        gateway_file,
    );
    let gateway = &at(
        resource(&gateway_docs, "Deployment", "gateway", gateway_file),
        "/spec/template/spec/containers",
        gateway_file,
    )[0];
    for (prefix, service) in [
        ("/students", "student-service"),
        ("/subjects", "subject-service"),
    ] {
        let path = paths
            .iter()
            .find(|p| p["path"] == prefix)
            .unwrap_or_else(|| panic!("{file}: no path {prefix}"));
        assert_eq!(path["pathType"], "Prefix", "{file}: {prefix}");
        assert_eq!(
            path["backend"]["service"]["name"], "gateway",
            "{file}: {prefix}"
        );
        let port = string(path, "/backend/service/port/name", file);
        assert!(
            named(&gateway_svc["spec"]["ports"], port).is_some(),
            "{file}: {prefix} goes to port {port}, which Service gateway does not have"
        );
        assert!(
            routes.contains(&format!("\"{prefix}\" = \"{service}\"")),
            "{gateway_file}: the route table sends {prefix} to {service}:\n{routes}"
        );
        let manifest = format!("deploy/kubernetes/{service}.yaml");
        let svc_docs = yaml_docs(&manifest);
        let svc = resource(&svc_docs, "Service", service, &manifest);
        let svc_port = int(&svc["spec"]["ports"][0], "/port", &manifest);
        let expected = match svc_port {
            80 => format!("http://{service}"),
            _ => format!("http://{service}:{svc_port}"),
        };
        assert_eq!(
            env(gateway, "env", &client_base_url_var(service), gateway_file),
            expected,
            "{gateway_file}: the gateway's {service} client"
        );
    }

    let file = "deploy/kubernetes/secrets.example.yaml";
    let secrets = yaml_docs(file);
    for svc in services() {
        let secret = resource(&secrets, "Secret", &format!("{}-db", svc.name), file);
        let url = string(secret, "/stringData/url", file);
        assert!(url.contains("CHANGE_ME"), "{file}: placeholder values only");
    }
}

#[test]
fn subject_service_finds_student_service_in_every_deployment() {
    let var = client_base_url_var(STUDENT_CLIENT);
    // The framework maps SERVICEKIT__A__B to `a.b`: the variable must name this very client.
    let key: Vec<String> = var["SERVICEKIT__".len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    assert_eq!(key, ["clients", STUDENT_CLIENT, "base_url"]);

    let file = "deploy/kubernetes/subject-service.yaml";
    let docs = yaml_docs(file);
    let container = at(
        resource(&docs, "Deployment", "subject-service", file),
        "/spec/template/spec/containers/0",
        file,
    );
    let student_docs = yaml_docs("deploy/kubernetes/student-service.yaml");
    let student = resource(&student_docs, "Service", "student-service", file);
    let port = int(
        named(&student["spec"]["ports"], "http").unwrap(),
        "/port",
        file,
    );
    let expected = match port {
        80 => "http://student-service".to_string(),
        _ => format!("http://student-service:{port}"),
    };
    assert_eq!(env(container, "env", &var, file), expected, "{file}");

    let student_port = ServerConfig::default().port;
    let file = "deploy/ecs/subject-service.task-definition.json";
    let td = json(file);
    let container = named(&td["containerDefinitions"], "subject-service").unwrap();
    let url = env(container, "environment", &var, file);
    assert_eq!(
        url,
        format!("http://student-service:{student_port}"),
        "{file}"
    );
    // That name and port are what student-service publishes through ECS Service Connect.
    let file = "deploy/ecs/student-service.service.json";
    let service = json(file);
    let alias = at(
        &service,
        "/serviceConnectConfiguration/services/0/clientAliases/0",
        file,
    );
    assert_eq!(alias["dnsName"], "student-service", "{file}");
    assert_eq!(alias["port"], student_port, "{file}");

    let file = "deploy/compose.yaml";
    let compose = &yaml_docs(file)[0];
    let url = string(
        compose,
        &format!("/services/subject-service/environment/{var}"),
        file,
    );
    assert_eq!(
        url,
        format!("http://student-service:{student_port}"),
        "{file}"
    );
}

#[test]
fn ecs_task_definitions_match_the_service_defaults() {
    for svc in services() {
        let file = format!("deploy/ecs/{}.task-definition.json", svc.name);
        let td = json(&file);
        let containers = at(&td, "/containerDefinitions", &file);
        let container = named(containers, svc.name)
            .unwrap_or_else(|| panic!("{file}: no container named {}", svc.name));
        assert_eq!(container["essential"], true, "{file}");

        let ports: Vec<u64> = container["portMappings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["containerPort"].as_u64())
            .collect();
        assert_eq!(ports, [u64::from(svc.port)], "{file}: portMappings");
        assert_eq!(
            env(container, "environment", "PORT", &file),
            svc.port.to_string()
        );

        let command = at(container, "/healthCheck/command", &file);
        assert_eq!(
            command,
            &serde_json::json!(["CMD", "/app/service", "healthcheck"]),
            "{file}: the health check runs the binary's healthcheck subcommand"
        );

        let stop = int(container, "/stopTimeout", &file);
        assert!(
            secs(stop) >= shutdown_budget(),
            "{file}: stopTimeout {stop} is shorter than drain_delay + shutdown_timeout + pool \
             close + trace flush ({:?})",
            shutdown_budget()
        );

        let secret = named(&container["secrets"], "DATABASE_URL")
            .unwrap_or_else(|| panic!("{file}: DATABASE_URL does not come from secrets"));
        assert!(
            string(secret, "/valueFrom", &file).starts_with("arn:aws:secretsmanager:"),
            "{file}: DATABASE_URL from Secrets Manager"
        );

        // Traces go to the ADOT collector next to the service (same network namespace).
        let collector = containers
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["image"]
                    .as_str()
                    .is_some_and(|i| i.contains("aws-otel-collector"))
            })
            .unwrap_or_else(|| panic!("{file}: no ADOT collector sidecar"));
        let endpoint = env(
            container,
            "environment",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &file,
        );
        assert_eq!(endpoint, "http://localhost:4318", "{file}");
        assert_eq!(
            env(
                container,
                "environment",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                &file
            ),
            "http/protobuf",
            "{file}"
        );
        // The service depends on the collector, so ECS stops the service first and the collector
        // is still there for the last spans.
        let depends = container["dependsOn"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            depends
                .iter()
                .any(|d| d["containerName"] == collector["name"]),
            "{file}: the service must dependOn the collector"
        );
    }
}

#[test]
fn ecs_services_and_alb_match_the_service_defaults() {
    let health = HealthConfig::default();
    let server = ServerConfig::default();
    let alb_file = "deploy/ecs/alb.json";
    let alb = json(alb_file);
    for svc in services() {
        let file = format!("deploy/ecs/{}.service.json", svc.name);
        let service = json(&file);
        assert_eq!(service["launchType"], "FARGATE", "{file}");
        assert_eq!(service["taskDefinition"], svc.name, "{file}");
        let lb = at(&service, "/loadBalancers/0", &file);
        assert_eq!(lb["containerName"], svc.name, "{file}");
        assert_eq!(lb["containerPort"], svc.port, "{file}");
        let arn = string(lb, "/targetGroupArn", &file);
        let group_name = arn.split('/').nth(1).unwrap_or_default();

        let group = alb["targetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["Name"] == group_name)
            .unwrap_or_else(|| panic!("{alb_file}: no target group {group_name} (from {file})"));
        assert_eq!(group["Port"], svc.port, "{alb_file}: {group_name}");
        assert_eq!(
            string(group, "/HealthCheckPath", alb_file),
            health.ready_path,
            "{alb_file}: {group_name} must health-check readiness"
        );
        assert_eq!(group["Matcher"]["HttpCode"], "200", "{alb_file}");
        assert!(
            secs(int(group, "/HealthCheckTimeoutSeconds", alb_file)) > health.check_timeout,
            "{alb_file}: {group_name}: the health check timeout must exceed health.check_timeout"
        );
        let delay: u64 = group["Attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["Key"] == "deregistration_delay.timeout_seconds")
            .and_then(|a| a["Value"].as_str()?.parse().ok())
            .unwrap_or_else(|| panic!("{alb_file}: {group_name} sets no deregistration delay"));
        assert!(
            secs(delay) >= server.drain_delay,
            "{alb_file}: {group_name}: deregistration delay {delay}s is shorter than \
             server.drain_delay ({:?})",
            server.drain_delay
        );
    }

    for (pattern, group) in [
        ("/students*", "student-service"),
        ("/subjects*", "subject-service"),
    ] {
        let rule = alb["listenerRules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["Conditions"]
                    .to_string()
                    .contains(&format!("\"{pattern}\""))
            })
            .unwrap_or_else(|| panic!("{alb_file}: no listener rule for {pattern}"));
        let target = string(rule, "/Actions/0/TargetGroupArn", alb_file);
        assert!(
            target.contains(&format!("targetgroup/{group}/")),
            "{alb_file}: {pattern} must forward to {group}, not {target}"
        );
    }
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("deploy/docker/Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, rest) = current.split_once(' ').unwrap_or((&current, ""));
                instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    instructions
}

/// `KEY=value` pairs of the Dockerfile's ARG and ENV instructions.
fn dockerfile_vars(keyword: &str) -> Vec<(String, String)> {
    dockerfile()
        .into_iter()
        .filter(|(k, _)| k == keyword)
        .flat_map(|(_, rest)| {
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `database.data_dir` as the image sets it.
fn image_data_dir() -> String {
    dockerfile_vars("ENV")
        .into_iter()
        .find(|(k, _)| k == "SERVICEKIT__DATABASE__DATA_DIR")
        .map(|(_, v)| v)
        .expect("the Dockerfile sets SERVICEKIT__DATABASE__DATA_DIR")
}

#[test]
fn dockerfile_builds_a_non_root_distroless_image_that_checks_itself() {
    let instructions = dockerfile();
    let find = |keyword: &str| -> Vec<&String> {
        instructions
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, rest)| rest)
            .collect()
    };

    let healthcheck = find("HEALTHCHECK");
    assert_eq!(healthcheck.len(), 1, "one HEALTHCHECK");
    assert!(
        healthcheck[0].ends_with(r#"CMD ["/app/service", "healthcheck"]"#),
        "HEALTHCHECK must run the binary's healthcheck subcommand: {}",
        healthcheck[0]
    );
    assert_eq!(find("ENTRYPOINT"), [r#"["/app/service"]"#]);

    let from = find("FROM");
    assert!(
        from.last()
            .is_some_and(|f| f.starts_with("gcr.io/distroless/cc-debian12:nonroot")),
        "the runtime stage is distroless nonroot: {from:?}"
    );
    let user = find("USER");
    assert!(
        user.last()
            .is_some_and(|u| !u.starts_with("root") && !u.starts_with("0")),
        "the image runs as a non-root user: {user:?}"
    );

    // The builder's Rust is the toolchain the repository pins.
    let toolchain = read("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .map(|c| c.trim_matches('"'))
        .expect("rust-toolchain.toml has a channel");
    let args = dockerfile_vars("ARG");
    let arg = |name: &str| {
        args.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the Dockerfile has no ARG {name}=default"))
    };
    assert_eq!(
        arg("RUST_VERSION"),
        channel,
        "ARG RUST_VERSION vs rust-toolchain.toml"
    );
    assert!(from.iter().any(|f| f.starts_with("rust:${RUST_VERSION}-")));
    assert_eq!(arg("SERVICE"), "student-service");
    assert_eq!(arg("PORT"), ServerConfig::default().port.to_string());

    let env = dockerfile_vars("ENV");
    assert!(env.contains(&("SERVICEKIT_ENV".into(), "prod".into())));
    assert!(env.contains(&("PORT".into(), "${PORT}".into())));
    assert_eq!(find("EXPOSE"), ["${PORT}"]);
    assert_eq!(
        find("WORKDIR").last().map(|w| w.as_str()),
        Some(image_data_dir().as_str())
    );
}

#[test]
fn compose_matches_the_service_defaults() {
    let file = "deploy/compose.yaml";
    let compose = &yaml_docs(file)[0];
    for svc in services() {
        let service = at(compose, &format!("/services/{}", svc.name), file);
        assert_eq!(
            string(service, "/environment/PORT", file),
            svc.port.to_string(),
            "{file}: {}",
            svc.name
        );
        assert_eq!(
            string(service, "/build/args/PORT", file),
            svc.port.to_string(),
            "{file}: {}",
            svc.name
        );
        let published = format!("{0}:{0}", svc.port);
        assert!(
            service["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == &Value::String(published.clone())),
            "{file}: {} publishes {published}",
            svc.name
        );
        assert!(
            service["healthcheck"]["test"]
                .to_string()
                .contains("\"healthcheck\""),
            "{file}: {} health check",
            svc.name
        );
        let grace = string(service, "/stop_grace_period", file);
        let grace = grace
            .strip_suffix('s')
            .and_then(|s| s.parse().ok())
            .map(secs)
            .unwrap_or_else(|| panic!("{file}: stop_grace_period {grace:?} is not `<n>s`"));
        assert!(
            grace >= shutdown_budget(),
            "{file}: {} stop_grace_period {grace:?} < {:?}",
            svc.name,
            shutdown_budget()
        );
    }
}

/// `events.url` of a deployment's services; one broker for both, or events would not meet.
fn one_events_url(urls: Vec<(String, String)>, file: &str) -> String {
    let first = urls[0].1.clone();
    for (service, url) in &urls {
        assert_eq!(url, &first, "{file}: {service} uses another broker");
    }
    first
}

#[test]
fn both_services_reach_the_same_event_broker_in_every_deployment() {
    const VAR: &str = "SERVICEKIT__EVENTS__URL";

    let file = "deploy/compose.yaml";
    let compose = &yaml_docs(file)[0];
    let url = one_events_url(
        services()
            .iter()
            .map(|svc| {
                let pointer = format!("/services/{}/environment/{VAR}", svc.name);
                (
                    svc.name.to_string(),
                    string(compose, &pointer, file).to_string(),
                )
            })
            .collect(),
        file,
    );
    let broker = url
        .strip_prefix("nats://")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("{file}: {VAR} {url:?} is not a nats:// URL"));
    let nats = at(compose, &format!("/services/{broker}"), file);
    let command = nats["command"].to_string();
    assert!(
        command.contains("\"-js\"") || command.contains("\"--jetstream\""),
        "{file}: {broker} runs without JetStream: {command}"
    );

    let url = one_events_url(
        services()
            .iter()
            .map(|svc| {
                let file = format!("deploy/kubernetes/{}.yaml", svc.name);
                let docs = yaml_docs(&file);
                let container = at(
                    resource(&docs, "Deployment", svc.name, &file),
                    "/spec/template/spec/containers/0",
                    &file,
                );
                (
                    svc.name.to_string(),
                    env(container, "env", VAR, &file).to_string(),
                )
            })
            .collect(),
        "deploy/kubernetes",
    );
    assert!(url.starts_with("nats://"), "deploy/kubernetes: {VAR} {url}");

    let mut prefixes = Vec::new();
    let url = one_events_url(
        services()
            .iter()
            .map(|svc| {
                let file = format!("deploy/ecs/{}.task-definition.json", svc.name);
                let td = json(&file);
                let container = named(&td["containerDefinitions"], svc.name).unwrap();
                prefixes.push(
                    env(
                        container,
                        "environment",
                        "SERVICEKIT__EVENTS__PREFIX",
                        &file,
                    )
                    .to_string(),
                );
                (
                    svc.name.to_string(),
                    env(container, "environment", VAR, &file).to_string(),
                )
            })
            .collect(),
        "deploy/ecs",
    );
    assert!(url.starts_with("sns://"), "deploy/ecs: {VAR} {url}");
    // Each scheme needs its adapter compiled in (a URL without it fails at startup).
    for svc in services() {
        let manifest = read(&format!("examples/{}/Cargo.toml", svc.name));
        for feature in ["\"events-nats\"", "\"events-aws\""] {
            assert!(
                manifest.contains(feature),
                "examples/{}/Cargo.toml: servicekit needs the feature {feature}",
                svc.name
            );
        }
    }
    assert_eq!(prefixes[0], prefixes[1], "deploy/ecs: one events.prefix");
    // The resources the ECS docs list are named after that prefix.
    let docs = read("docs/deployment.md");
    for name in [
        format!("{}-{}.fifo", prefixes[0], student_service::NAME),
        format!(
            "{}-{}-{}.fifo",
            prefixes[0],
            subject_service::NAME,
            student_service::NAME
        ),
    ] {
        assert!(docs.contains(&name), "docs/deployment.md names {name}");
    }
}
