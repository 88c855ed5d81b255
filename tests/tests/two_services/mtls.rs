//! The example services' real binaries on mutual TLS, configured by environment variables only
//! (docs/tls.md, "The example services on mTLS"), with certificates generated for the test:
//! subject-service enrols through student-service presenting `spiffe://school/subject-service`;
//! student-service lets only the peers of `app.allowed_peers` in, refuses a client without a
//! certificate at the handshake, answers its probes on the plain admin port, and rotates its
//! certificate under a stream of enrolments without failing one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use servicekit::testing::{TestCa, TestCert, TlsFiles, eventually};
use servicekit_tests::{SchoolClient, ServiceProcess, Verbatim, binary, free_port};

const SUBJECT_SERVICE: &str = "spiffe://school/subject-service";
/// The test's own identity when it creates students: an operator's tool allowed next to
/// subject-service.
const REGISTRAR: &str = "spiffe://school/registrar";

/// student-service over mutual TLS: its certificate and key, the CA that signs its clients,
/// the allowed peers, and a plain admin port for the probes.
fn student_env(files: &TlsFiles, admin_port: u16) -> Vec<(String, String)> {
    let path = |name: &str| files.path(name).display().to_string();
    vec![
        (
            "SERVICEKIT__SERVER__ADMIN_PORT".into(),
            admin_port.to_string(),
        ),
        (
            "SERVICEKIT__SERVER__TLS__CERT_FILE".into(),
            path("server.crt"),
        ),
        (
            "SERVICEKIT__SERVER__TLS__KEY_FILE".into(),
            path("server.key"),
        ),
        (
            "SERVICEKIT__SERVER__TLS__CLIENT_CA_FILE".into(),
            path("ca.crt"),
        ),
        (
            "SERVICEKIT__SERVER__TLS__RELOAD_INTERVAL".into(),
            "200ms".into(),
        ),
        (
            "SERVICEKIT__APP__ALLOWED_PEERS".into(),
            format!("[\"{SUBJECT_SERVICE}\", \"{REGISTRAR}\"]"),
        ),
    ]
}

/// subject-service calling student-service at `https://localhost:PORT` with its certificate.
fn subject_env(files: &TlsFiles, student_port: u16) -> Vec<(String, String)> {
    let path = |name: &str| files.path(name).display().to_string();
    vec![
        (
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL".into(),
            format!("https://localhost:{student_port}"),
        ),
        (
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__TLS__CA_FILE".into(),
            path("ca.crt"),
        ),
        (
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__TLS__CERT_FILE".into(),
            path("subject.crt"),
        ),
        (
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__TLS__KEY_FILE".into(),
            path("subject.key"),
        ),
    ]
}

fn start(package: &str, env: &[(String, String)]) -> ServiceProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServiceProcess::start(&binary(package, package), &env)
}

/// An HTTPS client trusting `ca`, presenting `identity`, reaching `localhost` at `port`.
fn https(ca: &TestCa, identity: Option<&TestCert>, port: u16) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .tls_info(true);
    if let Some(cert) = identity {
        builder = builder.identity(cert.identity());
    }
    builder.build().unwrap()
}

/// The certificate the server presented on the connection that answered `res`.
fn presented(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("tls_info is on")
        .to_vec()
}

/// Waits until `url` answers 200 over plain HTTP; the logs of `process` explain a timeout.
async fn ready(url: String, process: &ServiceProcess) {
    eventually(|| async {
        match reqwest::get(&url).await {
            Ok(res) if res.status() == 200 => Ok(()),
            other => Err(Verbatim(format!(
                "{url}: {other:?}\n{}{}",
                process.stdout(),
                process.stderr()
            ))),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_service_enrols_through_student_service_over_mutual_tls() {
    let ca = TestCa::new("school CA");
    let first = ca.workload(&["localhost"], "spiffe://school/student-service");
    let files = TlsFiles::new(&ca, &first);
    files.write_pair("subject", &ca.workload(&["localhost"], SUBJECT_SERVICE));
    let admin_port = free_port();
    let students = start("student-service", &student_env(&files, admin_port));
    let admin = |path: &str| format!("http://127.0.0.1:{admin_port}{path}");
    // Probes need no certificate: the admin port stays plain HTTP.
    ready(admin("/health/ready"), &students).await;
    assert_eq!(
        reqwest::get(admin("/health/live")).await.unwrap().status(),
        200
    );
    let subjects = start("subject-service", &subject_env(&files, students.port()));
    ready(subjects.url("/health/ready"), &subjects).await;

    let student_url = format!("https://localhost:{}", students.port());
    let registrar = ca.client(REGISTRAR);
    let registrar_api =
        SchoolClient::with_client(https(&ca, Some(&registrar), students.port()), &student_url);
    let ada = registrar_api.create_student("Ada", "ada@example.org").await;
    let subject = subjects.api().create_subject("CS-101", "Programming").await;

    // subject-service verifies the student over mutual TLS.
    let enrolled = subjects.api().enrol(&subject, &ada).await;
    assert_eq!(enrolled.status(), 201, "{}", enrolled.text().await.unwrap());

    // No client certificate: refused at the handshake, no HTTP answer.
    let anonymous = https(&ca, None, students.port());
    let err = anonymous
        .get(format!("{student_url}/students"))
        .send()
        .await
        .expect_err("no client certificate");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // Plain HTTP on the TLS port: no answer either.
    assert!(reqwest::get(students.url("/students")).await.is_err());
    // A certificate of the CA that app.allowed_peers does not name: 403 problem+json.
    let gateway = https(
        &ca,
        Some(&ca.client("spiffe://school/gateway")),
        students.port(),
    );
    let res = gateway
        .get(format!("{student_url}/students"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("spiffe://school/gateway")),
        "{body}"
    );

    rotate_under_enrolments(&ca, &files, &students, &subjects, &subject).await;
}

/// Replaces student-service's certificate files while workers create students (as the
/// registrar, half of them on a new connection each time) and enrol them through
/// subject-service; none of those requests may fail.
async fn rotate_under_enrolments(
    ca: &TestCa,
    files: &TlsFiles,
    students: &ServiceProcess,
    subjects: &ServiceProcess,
    subject: &str,
) {
    let port = students.port();
    let student_url = format!("https://localhost:{port}");
    let registrar = ca.client(REGISTRAR);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..4_usize {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let shared = https(ca, Some(&registrar), port);
        let fresh = {
            let (ca_pem, registrar) = (ca.pem.clone(), registrar.clone());
            move || {
                reqwest::Client::builder()
                    .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
                    .resolve("localhost", ([127, 0, 0, 1], port).into())
                    .identity(registrar.identity())
                    .build()
                    .unwrap()
            }
        };
        let student_url = student_url.clone();
        let subjects = subjects.api();
        let subject = subject.to_string();
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // Even workers keep their connection, odd ones handshake every time.
                let http = if worker % 2 == 0 {
                    shared.clone()
                } else {
                    fresh()
                };
                let registrar = SchoolClient::with_client(http, &student_url);
                let email = format!("w{worker}-{n}@example.org");
                let created = registrar
                    .post(
                        "/students",
                        &serde_json::json!({"name": "S", "email": email}),
                    )
                    .send()
                    .await;
                let id = match created {
                    Ok(res) if res.status() == 201 => {
                        let body: serde_json::Value = res.json().await.unwrap_or_default();
                        body["id"].as_str().map(str::to_string)
                    }
                    other => {
                        eprintln!("create failed: {other:?}");
                        None
                    }
                };
                let enrolled = match id {
                    Some(id) => subjects.enrolment(&subject, &id).send().await,
                    None => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                match enrolled {
                    Ok(res) if res.status() == 201 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        eprintln!("enrolment failed: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    let served = |n: usize| {
        let ok = ok.clone();
        async move {
            let now = ok.load(Ordering::Relaxed);
            if now >= n { Ok(now) } else { Err(now) }
        }
    };
    eventually(|| served(20)).await;

    let next = ca.workload(&["localhost"], "spiffe://school/student-service");
    files.write(&next);
    let after = eventually(|| async {
        let res = https(ca, Some(&registrar), port)
            .get(format!("{student_url}/students?limit=1"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if presented(&res) == next.der() {
            Ok(ok.load(Ordering::Relaxed))
        } else {
            Err("still the first certificate".to_string())
        }
    })
    .await;
    eventually(|| served(after + 20)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!(
        "{ok} enrolments, {after} of them before the new certificate was seen; {failed} failed"
    );
    assert_eq!(failed, 0, "failed requests");
    assert!(ok >= after + 20);
}
