//! A throwaway PKI per test (rcgen): a CA that issues server and client certificates, and the
//! folder of PEM files a service's `[server.tls]` and a client's `[clients.<name>.tls]` point at,
//! replaced by atomic renames as Kubernetes and cert-manager do.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate authority generated for one test.
///
/// ```
/// use servicekit::testing::{TestCa, TlsFiles};
///
/// let ca = TestCa::new("school CA");
/// let files = TlsFiles::new(&ca, &ca.server());
/// files.write_pair("client", &ca.client("spiffe://school/subject-service"));
/// assert!(files.path("ca.crt").exists() && files.path("client.key").exists());
/// ```
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate (PEM), to trust.
    pub pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate and its private key (PEM), issued by a [`TestCa`].
#[derive(Clone)]
pub struct TestCert {
    /// The certificate (PEM).
    pub cert: String,
    /// The private key (PEM, PKCS#8).
    pub key: String,
    der: Vec<u8>,
}

impl std::fmt::Debug for TestCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCert").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA with the common name `name`.
    ///
    /// # Panics
    /// If rcgen cannot generate a key (no crypto provider).
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("rcgen generates a key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).expect("a CA signs itself").pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    fn issue(
        &self,
        dns: &[&str],
        uris: &[&str],
        usages: Vec<ExtendedKeyUsagePurpose>,
        expired: bool,
    ) -> TestCert {
        let key = KeyPair::generate().expect("rcgen generates a key");
        let names = dns.iter().map(|d| (*d).to_string()).collect::<Vec<_>>();
        let mut params = CertificateParams::new(names).expect("valid DNS names");
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().expect("a valid URI")));
        }
        params.extended_key_usages = usages;
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the CA signs the certificate");
        TestCert {
            cert: cert.pem(),
            key: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// A server certificate for `localhost`.
    pub fn server(&self) -> TestCert {
        self.issue(
            &["localhost"],
            &[],
            vec![ExtendedKeyUsagePurpose::ServerAuth],
            false,
        )
    }

    /// A certificate for a workload that both serves (as the DNS names `dns`) and calls
    /// others (as the SAN URI `uri`, a SPIFFE ID such as `spiffe://school/student-service`).
    pub fn workload(&self, dns: &[&str], uri: &str) -> TestCert {
        let both = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.issue(dns, &[uri], both, false)
    }

    /// A client certificate with the SAN URI `uri`.
    pub fn client(&self, uri: &str) -> TestCert {
        self.issue(
            &[],
            &[uri],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            false,
        )
    }

    /// A client certificate with the SAN URI `uri` that expired in 2021.
    pub fn expired_client(&self, uri: &str) -> TestCert {
        self.issue(&[], &[uri], vec![ExtendedKeyUsagePurpose::ClientAuth], true)
    }
}

impl TestCert {
    /// The certificate (DER), to compare with the one a server presented.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate and key as a reqwest client identity.
    ///
    /// # Panics
    /// Never for a certificate of [`TestCa`].
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes())
            .expect("a PEM certificate and key")
    }
}

/// The PEM files of a service's TLS in a temporary folder (removed on drop): `server.crt`,
/// `server.key`, `ca.crt`, and any pair written with [`TlsFiles::write_pair`].
#[derive(Debug)]
pub struct TlsFiles {
    dir: tempfile::TempDir,
}

impl TlsFiles {
    /// The folder with `ca`'s certificate as `ca.crt` and `server` as `server.crt` and
    /// `server.key`.
    ///
    /// # Panics
    /// If the temporary folder or its files cannot be written.
    pub fn new(ca: &TestCa, server: &TestCert) -> Self {
        let files = Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        files.write(server);
        replace(&files.path("ca.crt"), &ca.pem);
        files
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the file `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces `server.key` and `server.crt`, as [`write_pair`](Self::write_pair) does.
    pub fn write(&self, server: &TestCert) {
        self.write_pair("server", server);
    }

    /// Replaces `{name}.key` and `{name}.crt`, each by an atomic rename (as Kubernetes and
    /// cert-manager do), key first.
    ///
    /// # Panics
    /// If a file cannot be written.
    pub fn write_pair(&self, name: &str, cert: &TestCert) {
        replace(&self.path(&format!("{name}.key")), &cert.key);
        replace(&self.path(&format!("{name}.crt")), &cert.cert);
    }

    /// Replaces the file `name` with `text` by an atomic rename.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn replace(&self, name: &str, text: &str) {
        replace(&self.path(name), text);
    }
}

fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("the temporary file is written");
    std::fs::rename(&tmp, path).expect("the file is replaced");
}
