//! `embed_migrations!`: scans a migrations directory at compile time and
//! generates a `servicekit::db::Migrations` constant expression.
//!
//! Layout of the directory (relative to the crate's `CARGO_MANIFEST_DIR`):
//!
//! ```text
//! migrations/
//!   sqlite/    1_create_students.sql  2_add_email.sql
//!   postgres/  1_create_students.sql  2_add_email.sql
//!   mysql/     1_create_students.sql  2_add_email.sql
//! ```
//!
//! If none of the three backend folders exists, the `.sql` files directly in
//! the directory are used for every backend (portable SQL).

use std::path::{Path, PathBuf};

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// The backends, in the order `Migrations::from_static` takes them; each name
/// is also the name of the backend's folder.
pub(crate) const BACKENDS: [&str; 3] = ["sqlite", "postgres", "mysql"];

/// Expands `embed_migrations!(...)`, reading `CARGO_MANIFEST_DIR` from the
/// environment of the compiler (cargo sets it to the crate's directory).
pub(crate) fn embed_migrations(input: TokenStream) -> TokenStream {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    expand(input, manifest_dir.as_deref()).unwrap_or_else(|error| error.to_compile_error())
}

/// Expands `embed_migrations!(...)` with the given manifest directory.
pub(crate) fn expand(input: TokenStream, manifest_dir: Option<&Path>) -> syn::Result<TokenStream> {
    let args: EmbedArgs = syn::parse2(input)?;
    let Some(manifest_dir) = manifest_dir else {
        return Err(syn::Error::new(
            args.dir.span(),
            "CARGO_MANIFEST_DIR is not set; embed_migrations! resolves its directory relative to the crate's Cargo.toml and must be compiled by cargo",
        ));
    };
    let dir = manifest_dir.join(args.dir.value());
    let scanned = scan(&dir).map_err(|message| syn::Error::new(args.dir.span(), message))?;
    let krate = args
        .krate
        .unwrap_or_else(|| syn::parse_quote!(::servicekit));
    Ok(generate(&krate, &scanned, args.dir.span()))
}

/// The arguments of `embed_migrations!`: `"dir"` and optionally `crate = path`.
struct EmbedArgs {
    /// The migrations directory, relative to `CARGO_MANIFEST_DIR`.
    dir: LitStr,
    /// Where servicekit lives; `::servicekit` by default.
    krate: Option<syn::Path>,
}

impl Parse for EmbedArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the migrations directory as a string literal, relative to CARGO_MANIFEST_DIR, e.g. embed_migrations!(\"migrations\")",
            )
        })?;
        let mut krate = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key = input.call(Ident::parse_any)?;
            if key != "crate" {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown argument `{key}` for embed_migrations!; valid arguments are: `crate`"
                    ),
                ));
            }
            if krate.is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    "duplicate argument `crate` for embed_migrations!",
                ));
            }
            input.parse::<Token![=]>()?;
            krate = Some(if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                lit.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        "`crate` must be a path, e.g. crate = servicekit",
                    )
                })?
            } else {
                input.parse::<syn::Path>()?
            });
        }
        Ok(Self { dir, krate })
    }
}

/// One migration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Migration {
    /// The integer before the first `_` of the file name.
    pub(crate) version: i64,
    /// The rest of the file name, without the extension, `_` replaced by spaces.
    pub(crate) description: String,
    /// The absolute path of the file, for `include_str!`.
    pub(crate) path: String,
}

/// The migrations of each backend, each sorted by version.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// `sqlite/`.
    pub(crate) sqlite: Vec<Migration>,
    /// `postgres/`.
    pub(crate) postgres: Vec<Migration>,
    /// `mysql/`.
    pub(crate) mysql: Vec<Migration>,
}

/// Scans a migrations directory. The error is a message for the user.
pub(crate) fn scan(dir: &Path) -> Result<Scanned, String> {
    if !dir.exists() {
        return Err(format!(
            "migrations directory `{}` does not exist; create it, with `sqlite/`, `postgres/` and `mysql/` folders (or just portable `.sql` files) holding migrations named `<VERSION>_<description>.sql`",
            dir.display()
        ));
    }
    if !dir.is_dir() {
        return Err(format!(
            "`{}` is not a directory; embed_migrations! expects a migrations directory",
            dir.display()
        ));
    }
    let backend_dirs = BACKENDS.map(|backend| dir.join(backend));
    if !backend_dirs.iter().any(|backend_dir| backend_dir.is_dir()) {
        let portable = scan_backend(dir)?;
        return Ok(Scanned {
            sqlite: portable.clone(),
            postgres: portable.clone(),
            mysql: portable,
        });
    }
    let [sqlite, postgres, mysql] = backend_dirs;
    let scan_if_present = |backend_dir: &Path| {
        if backend_dir.is_dir() {
            scan_backend(backend_dir)
        } else {
            Ok(Vec::new())
        }
    };
    Ok(Scanned {
        sqlite: scan_if_present(&sqlite)?,
        postgres: scan_if_present(&postgres)?,
        mysql: scan_if_present(&mysql)?,
    })
}

/// Reads the migration files of one folder, sorted by version.
fn scan_backend(dir: &Path) -> Result<Vec<Migration>, String> {
    let read_error = |error: std::io::Error| format!("cannot read `{}`: {error}", dir.display());
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let Some(file_name) = path.file_name() else {
            continue;
        };
        let Some(file_name) = file_name.to_str() else {
            return Err(format!(
                "migration file name `{}` is not valid UTF-8",
                path.display()
            ));
        };
        if file_name.starts_with('.')
            || !file_name.ends_with(".sql")
            || file_name.ends_with(".down.sql")
            || !path.is_file()
        {
            continue;
        }
        let (version, description) = parse_file_name(file_name)
            .map_err(|message| format!("{message} (in `{}`)", dir.display()))?;
        let Some(path) = path.to_str() else {
            return Err(format!("path `{}` is not valid UTF-8", path.display()));
        };
        migrations.push(Migration {
            version,
            description,
            path: path.to_owned(),
        });
    }
    migrations.sort_by(|a, b| (a.version, &a.path).cmp(&(b.version, &b.path)));
    if let Some(pair) = migrations
        .windows(2)
        .find(|pair| pair[0].version == pair[1].version)
    {
        return Err(format!(
            "duplicate migration version {} in `{}`: `{}` and `{}`",
            pair[0].version,
            dir.display(),
            file_name_of(&pair[0].path),
            file_name_of(&pair[1].path),
        ));
    }
    Ok(migrations)
}

/// Splits `<VERSION>_<description>.sql` (or `.up.sql`) into the version and
/// the description with `_` turned into spaces.
pub(crate) fn parse_file_name(file_name: &str) -> Result<(i64, String), String> {
    let stem = file_name
        .strip_suffix(".up.sql")
        .or_else(|| file_name.strip_suffix(".sql"))
        .unwrap_or(file_name);
    let expected =
        "migration files must be named `<VERSION>_<description>.sql`, e.g. `1_create_students.sql`";
    let Some((version, description)) = stem.split_once('_') else {
        return Err(format!(
            "invalid migration file name `{file_name}`: {expected}"
        ));
    };
    if version.is_empty() || !version.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "invalid migration file name `{file_name}`: the version `{version}` is not an integer; {expected}"
        ));
    }
    let version = version.parse::<i64>().map_err(|_| {
        format!("invalid migration file name `{file_name}`: the version `{version}` is too large")
    })?;
    Ok((version, description.replace('_', " ")))
}

/// The last component of a path, for messages.
fn file_name_of(path: &str) -> String {
    Path::new(path).file_name().map_or_else(
        || path.to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// Generates `#krate::db::Migrations::from_static(&[...], &[...], &[...])`.
pub(crate) fn generate(krate: &syn::Path, scanned: &Scanned, span: Span) -> TokenStream {
    let slice = |migrations: &[Migration]| {
        let items = migrations.iter().map(|migration| {
            let version = Literal::i64_unsuffixed(migration.version);
            let description = LitStr::new(&migration.description, Span::call_site());
            // The path carries the span of the directory literal, so that an
            // `include_str!` error points at it.
            let path = LitStr::new(&migration.path, span);
            quote! {
                #krate::db::EmbeddedMigration {
                    version: #version,
                    description: #description,
                    sql: ::core::include_str!(#path),
                }
            }
        });
        quote!(&[#(#items),*])
    };
    let sqlite = slice(&scanned.sqlite);
    let postgres = slice(&scanned.postgres);
    let mysql = slice(&scanned.mysql);
    quote! {
        #krate::db::Migrations::from_static(#sqlite, #postgres, #mysql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A human-readable summary of scanned migrations, used by tests.
    fn summary(migrations: &[Migration]) -> String {
        let mut out = String::new();
        for migration in migrations {
            let _ = write!(
                out,
                "{}:{}:{};",
                migration.version,
                migration.description,
                file_name_of(&migration.path)
            );
        }
        out
    }

    /// A temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "servicekit-macros-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn file(&self, relative: &str, contents: &str) -> &Self {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
            self
        }

        fn dir(&self, relative: &str) -> &Self {
            std::fs::create_dir_all(self.0.join(relative)).unwrap();
            self
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("1_create_students.sql"),
            Ok((1, "create students".to_owned()))
        );
        assert_eq!(
            parse_file_name("20240101120000_add_email.up.sql"),
            Ok((20_240_101_120_000, "add email".to_owned()))
        );
        assert_eq!(parse_file_name("0002_x.sql"), Ok((2, "x".to_owned())));
        let error = parse_file_name("v1_create.sql").unwrap_err();
        assert!(
            error.contains("the version `v1` is not an integer"),
            "{error}"
        );
        let error = parse_file_name("-1_create.sql").unwrap_err();
        assert!(
            error.contains("the version `-1` is not an integer"),
            "{error}"
        );
        let error = parse_file_name("_create.sql").unwrap_err();
        assert!(
            error.contains("the version `` is not an integer"),
            "{error}"
        );
        let error = parse_file_name("1.sql").unwrap_err();
        assert!(error.contains("`<VERSION>_<description>.sql`"), "{error}");
        let error = parse_file_name("99999999999999999999_big.sql").unwrap_err();
        assert!(error.contains("too large"), "{error}");
    }

    #[test]
    fn per_backend_folders() {
        let tmp = TempDir::new();
        tmp.file("sqlite/2_add_email.sql", "ALTER")
            .file("sqlite/1_create_students.sql", "CREATE")
            .file("sqlite/1_create_students.down.sql", "DROP")
            .file("sqlite/README.md", "docs")
            .file("sqlite/.3_hidden.sql", "hidden")
            .dir("sqlite/10_folder.sql")
            .file("postgres/10_ten.up.sql", "x")
            .file("postgres/9_nine.sql", "x")
            .file("README.md", "ignored")
            .file("99_ignored_because_backend_folders_exist.sql", "x");
        let scanned = scan(&tmp.0).unwrap();
        assert_eq!(
            summary(&scanned.sqlite),
            "1:create students:1_create_students.sql;2:add email:2_add_email.sql;"
        );
        assert_eq!(
            summary(&scanned.postgres),
            "9:nine:9_nine.sql;10:ten:10_ten.up.sql;"
        );
        assert_eq!(scanned.mysql, Vec::new());
        assert!(Path::new(&scanned.sqlite[0].path).is_absolute());
        assert_eq!(
            std::fs::read_to_string(&scanned.sqlite[0].path).unwrap(),
            "CREATE"
        );
    }

    #[test]
    fn portable_sql_is_used_for_every_backend() {
        let tmp = TempDir::new();
        tmp.file("2_b.sql", "B")
            .file("1_a.sql", "A")
            .file("notes.txt", "");
        let scanned = scan(&tmp.0).unwrap();
        assert_eq!(summary(&scanned.sqlite), "1:a:1_a.sql;2:b:2_b.sql;");
        assert_eq!(scanned.sqlite, scanned.postgres);
        assert_eq!(scanned.sqlite, scanned.mysql);
    }

    #[test]
    fn empty_directory_has_no_migrations() {
        let tmp = TempDir::new();
        assert_eq!(scan(&tmp.0).unwrap(), Scanned::default());
    }

    #[test]
    fn duplicate_versions_are_rejected() {
        let tmp = TempDir::new();
        tmp.file("mysql/1_a.sql", "").file("mysql/01_b.up.sql", "");
        let error = scan(&tmp.0).unwrap_err();
        let mysql = tmp.0.join("mysql");
        assert_eq!(
            error,
            format!(
                "duplicate migration version 1 in `{}`: `01_b.up.sql` and `1_a.sql`",
                mysql.display()
            )
        );
        // The same version in different backends is fine.
        let tmp = TempDir::new();
        tmp.file("mysql/1_a.sql", "").file("sqlite/1_a.sql", "");
        assert!(scan(&tmp.0).is_ok());
    }

    #[test]
    fn bad_file_names_are_rejected() {
        let tmp = TempDir::new();
        tmp.file("sqlite/first_migration.sql", "");
        let error = scan(&tmp.0).unwrap_err();
        assert!(
            error.starts_with(
                "invalid migration file name `first_migration.sql`: the version `first` is not an integer"
            ),
            "{error}"
        );
        assert!(error.contains(&tmp.0.join("sqlite").display().to_string()));
    }

    #[test]
    fn missing_directory_is_explained() {
        let tmp = TempDir::new();
        let missing = tmp.0.join("nope");
        let error = scan(&missing).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "migrations directory `{}` does not exist; create it",
                missing.display()
            )),
            "{error}"
        );
        tmp.file("file", "");
        let error = scan(&tmp.0.join("file")).unwrap_err();
        assert!(
            error.ends_with("is not a directory; embed_migrations! expects a migrations directory")
        );
    }

    #[test]
    fn expansion() {
        let tmp = TempDir::new();
        tmp.file("migrations/sqlite/1_create_students.sql", "CREATE");
        let output = expand(quote!("migrations", crate = sk), Some(&tmp.0)).unwrap();
        let path = tmp
            .0
            .join("migrations/sqlite/1_create_students.sql")
            .display()
            .to_string();
        let expected = quote! {
            sk::db::Migrations::from_static(
                &[sk::db::EmbeddedMigration {
                    version: 1,
                    description: "create students",
                    sql: ::core::include_str!(#path),
                }],
                &[],
                &[]
            )
        };
        assert_eq!(output.to_string(), expected.to_string());

        // The default crate path, a quoted crate path and a trailing comma.
        let output = expand(quote!("migrations",), Some(&tmp.0)).unwrap();
        assert!(
            output
                .to_string()
                .starts_with(":: servicekit :: db :: Migrations :: from_static")
        );
        let output = expand(quote!("migrations", crate = "a::b"), Some(&tmp.0)).unwrap();
        assert!(
            output
                .to_string()
                .starts_with("a :: b :: db :: Migrations :: from_static")
        );
    }

    #[test]
    fn argument_errors() {
        let tmp = TempDir::new();
        let error = |input| expand(input, Some(&tmp.0)).unwrap_err().to_string();
        assert!(
            error(quote!()).starts_with("expected the migrations directory as a string literal")
        );
        assert!(error(quote!(migrations)).starts_with("expected the migrations directory"));
        assert_eq!(
            error(quote!("m", krate = x)),
            "unknown argument `krate` for embed_migrations!; valid arguments are: `crate`"
        );
        assert_eq!(
            error(quote!("m", crate = x, crate = y)),
            "duplicate argument `crate` for embed_migrations!"
        );
        assert!(error(quote!("nope")).starts_with("migrations directory"));
        assert!(
            expand(quote!("m"), None)
                .unwrap_err()
                .to_string()
                .starts_with("CARGO_MANIFEST_DIR is not set")
        );
    }
}
