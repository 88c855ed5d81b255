"""The cases: what each server is, how it starts and what the load sends it."""

from dataclasses import dataclass, field
from pathlib import Path

from . import settings as s
from .procs import BenchError, Server, run


@dataclass
class Case:
    """One server setup under one kind of load."""

    id: str
    what: str
    argv: list
    env: dict
    ready: str = "/health/ready"
    path: str = s.STUDENT_PATH
    headers: dict = None  # sent by wrk with every request (-H)
    script: Path = None  # wrk Lua script (e.g. rotating tokens or rows)
    tokens: list = field(default_factory=list)  # bearer tokens in rotation (C-many)
    cwd: Path = None

    @property
    def check_headers(self):
        """Headers of the single request checked before the load."""
        if self.tokens:
            return {"Authorization": f"Bearer {self.tokens[0]}"}
        return self.headers

    def start(self, workdir, log_dir, prefix=()):
        return Server(self.id, self.argv, self.env, self.cwd or workdir, log_dir, prefix)


def servicekit_env(log_level, auth=False):
    """Production settings; without `auth`, authentication is switched off explicitly (a service
    in `prod` with no issuer refuses to start), as the unauthenticated cases A, B and D need."""
    env = {"SERVICEKIT_ENV": "prod", "RUST_LOG": log_level, "PORT": str(s.PORT)}
    if not auth:
        env["SERVICEKIT__AUTH__ENABLED"] = "false"
    return env


def make_keys(workdir):
    """An EC P-256 and a 2048-bit RSA key pair (both public keys in one PEM file), one token
    per algorithm and MANY_TOKENS distinct ES256 tokens."""
    keys = {}
    for alg, opts in (("ES256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                      ("RS256", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])):
        private = workdir / f"{alg}.key"
        run(["openssl", "genpkey", *opts, "-out", private])
        keys[alg] = private
    public = workdir / "public.pem"
    public.write_text("".join(run(["openssl", "pkey", "-in", k, "-pubout"])
                              for k in keys.values()))
    mint = s.RELEASE / "mint-token"
    tokens = {alg: run([mint, alg, k]).strip() for alg, k in keys.items()}
    many = run([mint, "ES256", keys["ES256"], s.MANY_TOKENS]).split()
    if len(set(many)) != s.MANY_TOKENS:
        raise BenchError(f"mint-token printed {len(set(many))} distinct tokens, "
                         f"expected {s.MANY_TOKENS}")
    return public, tokens, many


def rotating_tokens_script(workdir, tokens):
    """A wrk Lua script sending `tokens` in rotation, one per request."""
    listing = workdir / "tokens.txt"
    listing.write_text("\n".join(tokens) + "\n")
    script = workdir / "tokens.lua"
    script.write_text(
        "local tokens = {}\n"
        f'for line in io.lines("{listing}") do tokens[#tokens + 1] = line end\n'
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #tokens + 1\n"
        '  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[i]})\n'
        "end\n")
    return script


def in_memory_cases(workdir, public_pem, tokens, many):
    """A, B, C (repeated token, many tokens, cache off) and E, in the order of a round."""
    rel = s.RELEASE
    cases = [Case("A", "bare axum", [rel / "bare-axum"], {"PORT": str(s.PORT)},
                  ready=s.STUDENT_PATH)]
    for level in ("warn", "info"):
        cases.append(Case(f"B-{level}", f"servicekit default stack, log level {level}",
                          [rel / "sk-default"], servicekit_env(level)))
    jwt_env = {"BENCH_JWT_PUBLIC_PEM": str(public_pem)}

    def bearer(alg):
        return {"Authorization": f"Bearer {tokens[alg]}"}

    for level in ("warn", "info"):
        for alg in ("ES256", "RS256"):
            cases.append(Case(f"C-{alg}-{level}",
                              f"servicekit + JWT ({alg}, one token, cached) + scope, "
                              f"log level {level}",
                              [rel / "sk-jwt"], {**servicekit_env(level, True), **jwt_env},
                              headers=bearer(alg)))
    cases.append(Case("C-many-ES256-warn",
                      f"as C, {len(many)} distinct ES256 tokens in rotation, log level warn",
                      [rel / "sk-jwt"], {**servicekit_env("warn", True), **jwt_env},
                      script=rotating_tokens_script(workdir, many), tokens=many))
    for alg in ("ES256", "RS256"):
        cases.append(Case(f"C-nocache-{alg}-warn",
                          f"as C ({alg}), verified-token cache off "
                          "(auth.cache_capacity = 0), log level warn",
                          [rel / "sk-jwt"],
                          {**servicekit_env("warn", True), **jwt_env,
                           "SERVICEKIT__AUTH__CACHE_CAPACITY": "0"},
                          headers=bearer(alg)))
    for alg in ("ES256", "RS256"):
        cases.append(Case(f"E-{alg}", f"NestJS + Fastify + passport-jwt ({alg}), 1 process",
                          ["node", s.NEST / "dist" / "main.js"],
                          {"NODE_ENV": "production", "PORT": str(s.PORT), **jwt_env},
                          headers=bearer(alg), cwd=s.NEST))
    return cases


D_CASES = ("D-handwritten", "D-servicekit", "D-servicekit-warn", "D-typed", "D-typed-warn")
STUDENT_SERVICE_CASES = ("D-servicekit", "D-servicekit-warn")
STUDENT_MIGRATIONS = s.ROOT / "examples" / "student-service" / "migrations" / "postgres"


def psql(db, sql):
    return run(["psql", "-v", "ON_ERROR_STOP=1", "-qAt", f"{s.PG}/{db}", "-c", sql])


def database_cases(workdir, log_dir, wanted):
    """Case D: student-service, the hand-written twin and the twin's handler on servicekit's
    typed pool (`sk-typed`) on the same PostgreSQL rows. Creates, migrates (by starting
    student-service once when one of its cases is wanted, else with psql) and seeds the
    database when `wanted` (case ids) names a D case."""
    if not any(c in wanted for c in D_CASES):
        return []
    url = f"{s.PG}/{s.DB}"
    psql("postgres", f"DROP DATABASE IF EXISTS {s.DB}")
    psql("postgres", f"CREATE DATABASE {s.DB}")
    env = {**servicekit_env("info"), "DATABASE_URL": url}
    if any(c in wanted for c in STUDENT_SERVICE_CASES):
        server = Server("student-service-migrate", [s.RELEASE / "student-service"], env,
                        workdir, log_dir)
        try:
            server.wait_ready("/health/ready")
        finally:
            server.stop()
    else:
        # Without student-service (bench/run.sh builds it only for its cases): its PostgreSQL
        # migrations, applied with psql, give the same table.
        for migration in sorted(STUDENT_MIGRATIONS.glob("*.sql")):
            run(["psql", "-v", "ON_ERROR_STOP=1", "-q", f"{s.PG}/{s.DB}", "-f", migration])
    psql(s.DB, f"""INSERT INTO students (id, name, email, created_at, updated_at)
        SELECT gen_random_uuid()::text, 'Student ' || i, 'student' || i || '@example.org',
               1767225600000 + i, 1767225600000 + i
        FROM generate_series(1, {s.ROWS}) AS i""")
    ids = psql(s.DB, "SELECT id FROM students ORDER BY id").split()
    if len(ids) != s.ROWS:
        raise BenchError(f"seeded {len(ids)} students, expected {s.ROWS}")
    script = workdir / "students.lua"
    script.write_text(
        "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
        "request = function()\n"
        '  return wrk.format(nil, "/students/" .. ids[math.random(#ids)])\n'
        "end\n")
    first = f"/students/{ids[0]}"
    return [
        Case("D-handwritten", "axum + sqlx PgPool, hand-written", [s.RELEASE / "axum-sqlx"],
             {"PORT": str(s.PORT), "DATABASE_URL": url}, ready=first, path=first,
             script=script),
        Case("D-servicekit", "student-service (servicekit), log level info",
             [s.RELEASE / "student-service"], env, path=first, script=script),
        Case("D-servicekit-warn", "student-service (servicekit), log level warn",
             [s.RELEASE / "student-service"], {**env, "RUST_LOG": "warn"}, path=first,
             script=script),
        Case("D-typed", "axum-sqlx's handler on servicekit's typed pool "
             "(Database<sqlx::Postgres>), log level info", [s.RELEASE / "sk-typed"], env,
             path=first, script=script),
        Case("D-typed-warn", "axum-sqlx's handler on servicekit's typed pool "
             "(Database<sqlx::Postgres>), log level warn", [s.RELEASE / "sk-typed"],
             {**env, "RUST_LOG": "warn"}, path=first, script=script),
    ]
