//! Argument parsing for `#[microservice(...)]`.
//!
//! The arguments are a comma-separated list of `key = value` pairs, in any
//! order, with an optional trailing comma. Every key has one setter, which
//! rejects a second occurrence; an unknown key is rejected with the list of
//! valid ones. Parsing does not stop at the first bad argument: all errors are
//! collected and reported together, each spanned on the offending tokens.

use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token};

/// The arguments accepted by `#[microservice]`, in the order the docs list them.
pub(crate) const VALID_ARGUMENTS: &[&str] = &["name", "crate", "migrations", "openapi", "builder"];

/// The arguments that describe the service piece by piece, and so cannot be combined with
/// `builder`, which gives the whole service; with the builder method that sets each instead.
const PIECEWISE_ARGUMENTS: &[(&str, &str)] = &[
    ("name", "Service::builder(\"my-service\")"),
    ("migrations", ".migrations(&MIGRATIONS)"),
    ("openapi", ".openapi(spec)"),
];

/// The parsed arguments of `#[microservice(...)]`. Every field is optional.
#[derive(Default)]
pub(crate) struct MicroserviceArgs {
    /// `name = "..."`: the service name. `None` means `CARGO_PKG_NAME`.
    pub(crate) name: Option<LitStr>,
    /// `crate = "path"`: where servicekit lives. `None` means `::servicekit`.
    pub(crate) krate: Option<syn::Path>,
    /// `migrations = ...`: the service's database migrations.
    pub(crate) migrations: Option<MigrationsArg>,
    /// `openapi = EXPR`: the service's OpenAPI document (a `utoipa::openapi::OpenApi`).
    pub(crate) openapi: Option<Expr>,
    /// `builder = path::to::service`: a function returning the whole `ServiceBuilder`.
    pub(crate) builder: Option<syn::Path>,
    /// Every key given, in order, for the errors about combinations.
    keys: Vec<Ident>,
}

/// The value of `migrations = ...`.
pub(crate) enum MigrationsArg {
    /// A string literal: a directory relative to `CARGO_MANIFEST_DIR`, embedded
    /// with `embed_migrations!`.
    Dir(LitStr),
    /// Any other expression: evaluates to a `servicekit::db::Migrations` that
    /// lives for `'static` (a `static` or a `const`); it is passed by reference.
    Expr(Box<Expr>),
}

impl MicroserviceArgs {
    /// The crate path to prefix servicekit items with: the `crate = "..."`
    /// argument or `::servicekit`.
    pub(crate) fn crate_path(&self) -> syn::Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::servicekit))
    }

    /// Dispatches one `key = value` pair to its setter.
    fn set(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        match key.to_string().as_str() {
            "name" => self.set_name(key, value),
            "crate" => self.set_crate(key, value),
            "migrations" => self.set_migrations(key, value),
            "openapi" => self.set_openapi(key, value),
            "builder" => self.set_builder(key, value),
            other => Err(syn::Error::new(key.span(), unknown_argument(other))),
        }
    }

    /// `name = "..."`.
    fn set_name(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        if self.name.is_some() {
            return Err(duplicate_argument(key));
        }
        let Some(lit) = string_literal(&value) else {
            return Err(syn::Error::new_spanned(
                value,
                "`name` must be a string literal, e.g. name = \"student-service\"",
            ));
        };
        if lit.value().is_empty() {
            return Err(syn::Error::new(lit.span(), "`name` must not be empty"));
        }
        self.name = Some(lit);
        Ok(())
    }

    /// `crate = "path"`; a bare path (`crate = my::reexport`) is accepted too.
    fn set_crate(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        if self.krate.is_some() {
            return Err(duplicate_argument(key));
        }
        let path = match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => lit.parse::<syn::Path>().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format!(
                        "`crate` must be a path, e.g. crate = \"servicekit\"; `{}` is not a path",
                        lit.value()
                    ),
                )
            })?,
            Expr::Path(expr) if expr.qself.is_none() && expr.attrs.is_empty() => expr.path,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`crate` must be a string literal containing a path, e.g. crate = \"servicekit\"",
                ));
            }
        };
        self.krate = Some(path);
        Ok(())
    }

    /// `migrations = "dir"` or `migrations = EXPR`.
    fn set_migrations(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        if self.migrations.is_some() {
            return Err(duplicate_argument(key));
        }
        self.migrations = Some(match string_literal(&value) {
            Some(lit) => MigrationsArg::Dir(lit),
            None => MigrationsArg::Expr(Box::new(value)),
        });
        Ok(())
    }
}

impl MicroserviceArgs {
    /// `openapi = EXPR`, e.g. `openapi = student_service::api::openapi()`.
    fn set_openapi(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        if self.openapi.is_some() {
            return Err(duplicate_argument(key));
        }
        if string_literal(&value).is_some() {
            return Err(syn::Error::new_spanned(
                value,
                "`openapi` must be an expression giving a `utoipa::openapi::OpenApi`, \
                 e.g. openapi = my_service::openapi()",
            ));
        }
        self.openapi = Some(value);
        Ok(())
    }
}

impl MicroserviceArgs {
    /// `builder = path::to::service`: the path of a function returning a `ServiceBuilder`.
    fn set_builder(&mut self, key: &Ident, value: Expr) -> syn::Result<()> {
        if self.builder.is_some() {
            return Err(duplicate_argument(key));
        }
        match value {
            Expr::Path(expr) if expr.qself.is_none() && expr.attrs.is_empty() => {
                self.builder = Some(expr.path);
                Ok(())
            }
            Expr::Call(call) if call.args.is_empty() => {
                let func = &call.func;
                Err(syn::Error::new_spanned(
                    &call,
                    format!(
                        "`builder` names the function without calling it: builder = {}",
                        quote::ToTokens::to_token_stream(func)
                            .to_string()
                            .replace(' ', "")
                    ),
                ))
            }
            other => Err(syn::Error::new_spanned(
                other,
                "`builder` must be the path of a function returning a `servicekit::ServiceBuilder`, \
                 e.g. builder = my_service::service",
            )),
        }
    }

    /// With `builder`, every piecewise argument is an error spanned on its key: the builder
    /// function already sets it, and two sources for one setting would disagree silently.
    fn check_combinations(&self) -> Option<syn::Error> {
        self.builder.as_ref()?;
        let mut errors: Option<syn::Error> = None;
        for key in &self.keys {
            let name = key.to_string();
            if let Some((_, setter)) = PIECEWISE_ARGUMENTS.iter().find(|(arg, _)| *arg == name) {
                let err = syn::Error::new(
                    key.span(),
                    format!(
                        "`{name}` cannot be combined with `builder`: the builder function returns \
                         the whole service, so set it there with `{setter}`; \
                         `builder` goes with `crate` only"
                    ),
                );
                errors = Some(combine(errors, err));
            }
        }
        errors
    }
}

impl Parse for MicroserviceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self::default();
        // Errors in values are collected; a syntax error ends parsing, reported
        // together with the errors collected before it.
        let mut errors: Option<syn::Error> = None;
        while !input.is_empty() {
            let (key, value) = match parse_pair(input) {
                Ok(pair) => pair,
                Err(err) => return Err(combine(errors, err)),
            };
            if let Err(err) = args.set(&key, value) {
                errors = Some(combine(errors, err));
            }
            args.keys.push(key);
            if input.is_empty() {
                break;
            }
            if let Err(err) = input.parse::<Token![,]>() {
                return Err(combine(errors, err));
            }
        }
        if let Some(err) = args.check_combinations() {
            errors = Some(combine(errors, err));
        }
        match errors {
            Some(err) => Err(err),
            None => Ok(args),
        }
    }
}

/// Parses one `key = value` pair.
fn parse_pair(input: ParseStream<'_>) -> syn::Result<(Ident, Expr)> {
    // `crate` is a keyword, so keys are read with `parse_any`.
    let key = input.call(Ident::parse_any).map_err(|err| {
        syn::Error::new(
            err.span(),
            format!(
                "expected `key = value` arguments for #[microservice]; valid arguments are: {}",
                valid_list()
            ),
        )
    })?;
    if !input.peek(Token![=]) {
        let message = if VALID_ARGUMENTS.contains(&key.to_string().as_str()) {
            format!("expected `=` after `{key}`, e.g. {key} = ...")
        } else {
            unknown_argument(&key.to_string())
        };
        return Err(syn::Error::new(key.span(), message));
    }
    input.parse::<Token![=]>()?;
    let value: Expr = input.parse()?;
    Ok((key, value))
}

/// Parses the attribute's arguments, e.g. `name = "x", migrations = M`.
pub(crate) fn parse_args(args: proc_macro2::TokenStream) -> syn::Result<MicroserviceArgs> {
    syn::parse2(args)
}

/// Whether the arguments contain a `builder = ...` pair, judged from the tokens alone so that
/// it is known even when the arguments do not parse.
pub(crate) fn has_builder(args: &proc_macro2::TokenStream) -> bool {
    let tokens: Vec<_> = args.clone().into_iter().collect();
    tokens.windows(2).any(|pair| match pair {
        [
            proc_macro2::TokenTree::Ident(key),
            proc_macro2::TokenTree::Punct(eq),
        ] => key == "builder" && eq.as_char() == '=',
        _ => false,
    })
}

/// Returns the string literal if `expr` is one.
fn string_literal(expr: &Expr) -> Option<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit),
            attrs,
        }) if attrs.is_empty() => Some(lit.clone()),
        _ => None,
    }
}

/// `` `name`, `crate`, `migrations` ``.
fn valid_list() -> String {
    VALID_ARGUMENTS
        .iter()
        .map(|arg| format!("`{arg}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message for an unknown key.
fn unknown_argument(key: &str) -> String {
    format!(
        "unknown argument `{key}` for #[microservice]; valid arguments are: {}",
        valid_list()
    )
}

/// The error for a key given twice, spanned on the second occurrence.
fn duplicate_argument(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!("duplicate argument `{key}` for #[microservice]"),
    )
}

/// Appends `err` to the errors collected so far.
fn combine(errors: Option<syn::Error>, err: syn::Error) -> syn::Error {
    match errors {
        Some(mut errors) => {
            errors.combine(err);
            errors
        }
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens as _, quote};

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<MicroserviceArgs> {
        parse_args(tokens)
    }

    fn error(tokens: proc_macro2::TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("expected a parse error"),
            Err(err) => err.to_string(),
        }
    }

    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match parse(tokens) {
            Ok(_) => panic!("expected a parse error"),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn empty_arguments_are_all_defaults() {
        let args = parse(quote!()).unwrap();
        assert!(args.name.is_none());
        assert!(args.krate.is_none());
        assert!(args.migrations.is_none());
        assert_eq!(
            args.crate_path().to_token_stream().to_string(),
            ":: servicekit"
        );
    }

    #[test]
    fn all_arguments_in_any_order_with_trailing_comma() {
        let args = parse(quote!(
            migrations = student_service::MIGRATIONS,
            crate = "my_reexport::servicekit",
            name = "student-service",
        ))
        .unwrap();
        assert_eq!(args.name.unwrap().value(), "student-service");
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            "my_reexport :: servicekit"
        );
        match args.migrations.unwrap() {
            MigrationsArg::Expr(expr) => assert_eq!(
                expr.to_token_stream().to_string(),
                "student_service :: MIGRATIONS"
            ),
            MigrationsArg::Dir(_) => panic!("expected an expression"),
        }
    }

    #[test]
    fn migrations_string_literal_is_a_directory() {
        let args = parse(quote!(migrations = "migrations")).unwrap();
        match args.migrations.unwrap() {
            MigrationsArg::Dir(lit) => assert_eq!(lit.value(), "migrations"),
            MigrationsArg::Expr(_) => panic!("expected a directory"),
        }
    }

    #[test]
    fn migrations_accepts_any_expression() {
        let args = parse(quote!(migrations = db::migrations(), name = "x")).unwrap();
        assert!(matches!(args.migrations, Some(MigrationsArg::Expr(_))));
        assert_eq!(args.name.unwrap().value(), "x");
    }

    #[test]
    fn crate_accepts_keyword_paths_and_bare_paths() {
        let args = parse(quote!(crate = "crate")).unwrap();
        assert_eq!(args.crate_path().to_token_stream().to_string(), "crate");
        let args = parse(quote!(crate = ::servicekit)).unwrap();
        assert_eq!(
            args.crate_path().to_token_stream().to_string(),
            ":: servicekit"
        );
    }

    #[test]
    fn unknown_argument_lists_the_valid_ones() {
        assert_eq!(
            error(quote!(foo = 1)),
            "unknown argument `foo` for #[microservice]; valid arguments are: `name`, `crate`, `migrations`, `openapi`, `builder`"
        );
        // Also without a value.
        assert_eq!(
            error(quote!(port)),
            "unknown argument `port` for #[microservice]; valid arguments are: `name`, `crate`, `migrations`, `openapi`, `builder`"
        );
    }

    #[test]
    fn duplicate_arguments_are_rejected() {
        assert_eq!(
            error(quote!(name = "a", name = "b")),
            "duplicate argument `name` for #[microservice]"
        );
        assert_eq!(
            error(quote!(crate = "a", crate = "b")),
            "duplicate argument `crate` for #[microservice]"
        );
        assert_eq!(
            error(quote!(migrations = "a", migrations = M)),
            "duplicate argument `migrations` for #[microservice]"
        );
    }

    #[test]
    fn name_must_be_a_string_literal() {
        let expected = "`name` must be a string literal, e.g. name = \"student-service\"";
        assert_eq!(error(quote!(name = student_service)), expected);
        assert_eq!(error(quote!(name = 42)), expected);
        assert_eq!(error(quote!(name = env!("X"))), expected);
        assert_eq!(error(quote!(name = "")), "`name` must not be empty");
    }

    #[test]
    fn crate_must_be_a_path() {
        assert_eq!(
            error(quote!(crate = "not a path")),
            "`crate` must be a path, e.g. crate = \"servicekit\"; `not a path` is not a path"
        );
        assert_eq!(
            error(quote!(crate = 1)),
            "`crate` must be a string literal containing a path, e.g. crate = \"servicekit\""
        );
    }

    #[test]
    fn missing_equals_is_explained() {
        assert_eq!(
            error(quote!(name)),
            "expected `=` after `name`, e.g. name = ..."
        );
    }

    #[test]
    fn missing_comma_is_a_syntax_error() {
        assert_eq!(error(quote!(name = "a" crate = "b")), "expected `,`");
    }

    #[test]
    fn non_identifier_key_is_rejected() {
        assert!(error(quote!("name" = "a")).starts_with("expected `key = value` arguments"));
    }

    #[test]
    fn a_syntax_error_keeps_the_errors_before_it() {
        assert_eq!(
            errors(quote!(name = 1, crate = "x" migrations = M)),
            vec![
                "`name` must be a string literal, e.g. name = \"student-service\"",
                "expected `,`",
            ]
        );
    }

    #[test]
    fn builder_is_a_function_path() {
        let args = parse(quote!(builder = crate::service, crate = "sk")).unwrap();
        assert_eq!(
            args.builder.unwrap().to_token_stream().to_string(),
            "crate :: service"
        );
        assert_eq!(
            error(quote!(builder = my_service::service())),
            "`builder` names the function without calling it: builder = my_service::service"
        );
        assert_eq!(
            error(quote!(builder = "service")),
            "`builder` must be the path of a function returning a `servicekit::ServiceBuilder`, \
             e.g. builder = my_service::service"
        );
        assert_eq!(
            error(quote!(builder = a, builder = b)),
            "duplicate argument `builder` for #[microservice]"
        );
    }

    #[test]
    fn builder_excludes_the_piecewise_arguments() {
        assert_eq!(
            errors(quote!(
                name = "x",
                builder = service,
                migrations = M,
                openapi = o(),
                crate = "sk"
            )),
            vec![
                "`name` cannot be combined with `builder`: the builder function returns the whole \
                 service, so set it there with `Service::builder(\"my-service\")`; `builder` goes \
                 with `crate` only",
                "`migrations` cannot be combined with `builder`: the builder function returns the \
                 whole service, so set it there with `.migrations(&MIGRATIONS)`; `builder` goes \
                 with `crate` only",
                "`openapi` cannot be combined with `builder`: the builder function returns the \
                 whole service, so set it there with `.openapi(spec)`; `builder` goes with \
                 `crate` only",
            ]
        );
    }

    #[test]
    fn all_errors_are_reported() {
        assert_eq!(
            errors(quote!(name = 1, foo = 2, name = "x", name = "y")),
            vec![
                "`name` must be a string literal, e.g. name = \"student-service\"",
                "unknown argument `foo` for #[microservice]; valid arguments are: `name`, `crate`, `migrations`, `openapi`, `builder`",
                "duplicate argument `name` for #[microservice]",
            ]
        );
    }
}
