//! Code generation for `#[microservice]`.
//!
//! The user's function is kept as it is (renamed to `__servicekit_main` when it
//! is called `main`) and a `fn main` is generated next to it that builds and
//! runs a `servicekit::Service`. On any error, the user's function is still
//! emitted, together with the `compile_error!`s and a stub `fn main() {}`, so
//! that the only errors the user sees are ours, not "`main` function not found".

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Expr, FnArg, Ident, ItemFn, ReturnType, Signature};

use crate::attr::{self, MicroserviceArgs, MigrationsArg};

/// The name a user function called `main` is given, to make room for the
/// generated `fn main`.
const RENAMED_MAIN: &str = "__servicekit_main";

/// Error: the attribute is on something that is not a function.
pub(crate) const NOT_A_FN: &str = "#[microservice] can only be applied to an `async fn`";
/// Error: the function is not `async`.
pub(crate) const NOT_ASYNC: &str =
    "the #[microservice] function must be `async`: `async fn app(ctx: servicekit::Context) -> ...`";
/// Error: the function does not take exactly one (non-`self`) argument.
pub(crate) const BAD_ARGUMENTS: &str = "the #[microservice] function must take exactly one argument, the service context: `async fn app(ctx: servicekit::Context) -> ...`";
/// Error: the function has generic parameters or a `where` clause.
pub(crate) const GENERIC: &str = "the #[microservice] function cannot be generic";
/// Error: the function has no explicit return type.
pub(crate) const NO_RETURN_TYPE: &str = "the #[microservice] function must return the routes: `-> axum::Router` or `-> Result<axum::Router, E>`";
/// Error: the function is `unsafe`.
pub(crate) const UNSAFE: &str = "the #[microservice] function cannot be `unsafe`";

/// Error: with `builder`, the attribute is not on an empty `fn main() {}`.
pub(crate) const BUILDER_MAIN: &str = "with `builder = ...`, #[microservice] goes on an empty `fn main() {}`: the builder function is the whole service, and the generated `main` runs it";

/// Expands `#[microservice(args)] item`.
pub(crate) fn microservice(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    // Known even when the arguments have errors, so that the function is checked by the
    // right rules and only the argument errors are reported.
    let builder = attr::has_builder(&args);
    let args = errors.ok(attr::parse_args(args));
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => {
            if builder {
                errors.ok(validate_builder_main(&function));
            } else {
                errors.ok(validate(&function.sig));
            }
            Some(function)
        }
        Err(_) => {
            errors.push(syn::Error::new(first_item_token(&item), NOT_A_FN));
            None
        }
    };
    match (errors.finish(), args, function) {
        (None, Some(args), Some(function)) if args.builder.is_some() => {
            expand_builder(&args, &function)
        }
        (None, Some(args), Some(function)) => expand(&args, function),
        (Some(error), _, function) => expand_error(&error, item, function),
        // An error is recorded whenever `args` or `function` is `None`.
        (None, _, _) => unreachable!("a missing argument or function always records an error"),
    }
}

/// Checks the signature of the user's function, reporting every problem.
fn validate(sig: &Signature) -> syn::Result<()> {
    let mut errors = Errors::default();
    if sig.asyncness.is_none() {
        let (fn_token, ident) = (&sig.fn_token, &sig.ident);
        errors.push(syn::Error::new_spanned(quote!(#fn_token #ident), NOT_ASYNC));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(unsafety, UNSAFE));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, GENERIC));
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(where_clause, GENERIC));
    }
    let has_receiver = sig
        .inputs
        .iter()
        .any(|arg| matches!(arg, FnArg::Receiver(_)));
    if sig.inputs.len() != 1 || has_receiver || sig.variadic.is_some() {
        errors.push(syn::Error::new(sig.paren_token.span.join(), BAD_ARGUMENTS));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new_spanned(sig, NO_RETURN_TYPE));
    }
    match errors.finish() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// With `builder`: checks that the function is an empty `fn main() {}`, each problem spanned
/// on its tokens.
fn validate_builder_main(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    let mut errors = Errors::default();
    if sig.ident != "main" {
        errors.push(syn::Error::new_spanned(&sig.ident, BUILDER_MAIN));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(unsafety, UNSAFE));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(&sig.generics, BUILDER_MAIN));
    }
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        errors.push(syn::Error::new_spanned(&sig.inputs, BUILDER_MAIN));
    }
    if let ReturnType::Type(..) = sig.output {
        errors.push(syn::Error::new_spanned(&sig.output, BUILDER_MAIN));
    }
    if !function.block.stmts.is_empty() {
        errors.push(syn::Error::new_spanned(&function.block, BUILDER_MAIN));
    }
    match errors.finish() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The expansion with `builder`: a `fn main` (keeping the user's attributes and docs) that
/// calls the builder function and runs what it returns.
fn expand_builder(args: &MicroserviceArgs, function: &ItemFn) -> TokenStream {
    let krate = args.crate_path();
    let attrs = &function.attrs;
    let vis = &function.vis;
    let builder = args
        .builder
        .as_ref()
        .expect("expand_builder is called with a builder");
    // Spanned on the path, so that a function of the wrong type is reported there.
    let call = quote_spanned!(builder.span()=> #builder());
    let ty = quote_spanned!(builder.span()=> #krate::ServiceBuilder);
    quote! {
        #(#attrs)*
        #vis fn main() -> ::std::process::ExitCode {
            let builder: #ty = #call;
            builder.run_main()
        }
    }
}

/// The successful expansion: the user's function and the generated `main`.
fn expand(args: &MicroserviceArgs, mut function: ItemFn) -> TokenStream {
    let krate = args.crate_path();
    let ident = rename_main(&mut function);
    // Spanned on the return type, so that "the trait `IntoRoutes` is not
    // implemented" points at it rather than at the attribute.
    let routes = match &function.sig.output {
        ReturnType::Type(_, ty) => quote_spanned!(ty.span()=> .routes(#ident)),
        ReturnType::Default => quote!(.routes(#ident)),
    };
    let name = match &args.name {
        Some(name) => quote!(#name),
        None => quote!(::core::env!("CARGO_PKG_NAME")),
    };
    let migrations = args.migrations.as_ref().map(|migrations| match migrations {
        MigrationsArg::Dir(dir) => quote! {
            .migrations({
                static __SERVICEKIT_MIGRATIONS: #krate::db::Migrations =
                    #krate::embed_migrations!(#dir, crate = #krate);
                &__SERVICEKIT_MIGRATIONS
            })
        },
        // The borrow is spanned on the expression, so that a borrow error (an
        // expression that is not `'static`) points at it.
        MigrationsArg::Expr(expr) if is_operand(expr) => {
            let borrow = quote_spanned!(expr.span()=> &#expr);
            quote!(.migrations(#borrow))
        }
        MigrationsArg::Expr(expr) => {
            let borrow = quote_spanned!(expr.span()=> &(#expr));
            quote!(.migrations(#borrow))
        }
    });
    let openapi = args.openapi.as_ref().map(|spec| quote!(.openapi(#spec)));
    quote! {
        #function

        fn main() -> ::std::process::ExitCode {
            #krate::Service::builder(#name)
                .version(::core::env!("CARGO_PKG_VERSION"))
                #migrations
                #openapi
                #routes
                .run_main()
        }
    }
}

/// The expansion on error: the user's item, the errors, and a stub `main`.
fn expand_error(error: &syn::Error, item: TokenStream, function: Option<ItemFn>) -> TokenStream {
    let error = error.to_compile_error();
    let item = match function {
        Some(mut function) => {
            rename_main(&mut function);
            quote! {
                #[allow(dead_code)]
                #function
            }
        }
        None => item,
    };
    quote! {
        #item
        #error
        fn main() {}
    }
}

/// Renames a function called `main` to [`RENAMED_MAIN`], keeping its span,
/// and returns the function's (new) name.
fn rename_main(function: &mut ItemFn) -> Ident {
    if function.sig.ident == "main" {
        function.sig.ident = Ident::new(RENAMED_MAIN, function.sig.ident.span());
    }
    function.sig.ident.clone()
}

/// Whether `&expr` parses as a reference to the whole of `expr`, without
/// parentheses (which would otherwise trigger `unused_parens`).
fn is_operand(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Path(_)
            | Expr::Call(_)
            | Expr::MethodCall(_)
            | Expr::Field(_)
            | Expr::Index(_)
            | Expr::Macro(_)
            | Expr::Paren(_)
            | Expr::Block(_)
            | Expr::Lit(_)
    )
}

/// The span of the first token of an item after its outer attributes (`pub`,
/// `struct`, `impl`, ...), where a "not a function" error points.
fn first_item_token(item: &TokenStream) -> Span {
    let mut tokens = item.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == '#' => {
                // Skip the `[...]` of an outer attribute.
                if let Some(TokenTree::Group(_)) = tokens.peek() {
                    tokens.next();
                }
            }
            _ => return token.span(),
        }
    }
    Span::call_site()
}

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    /// Records an error.
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records the error of `result`, if any, and returns its value.
    fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// All the recorded errors, combined.
    fn finish(self) -> Option<syn::Error> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands and normalises the output for comparison.
    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        microservice(args, item).to_string()
    }

    /// The messages of the `compile_error!`s in the expansion.
    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let output = microservice(args, item);
        let mut messages = Vec::new();
        collect_errors(output, &mut messages);
        messages
    }

    fn collect_errors(tokens: TokenStream, messages: &mut Vec<String>) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident) if ident == "compile_error" => {
                    if let Some(TokenTree::Group(group)) = tokens.get(i + 2) {
                        let lit: syn::LitStr = syn::parse2(group.stream()).unwrap();
                        messages.push(lit.value());
                    }
                }
                TokenTree::Group(group) => collect_errors(group.stream(), messages),
                _ => {}
            }
        }
    }

    fn normalize(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    #[test]
    fn main_is_renamed_and_generated() {
        let output = expand_str(
            quote!(),
            quote! {
                async fn main(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
                    app(ctx).await
                }
            },
        );
        let expected = normalize(quote! {
            async fn __servicekit_main(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
                app(ctx).await
            }

            fn main() -> ::std::process::ExitCode {
                ::servicekit::Service::builder(::core::env!("CARGO_PKG_NAME"))
                    .version(::core::env!("CARGO_PKG_VERSION"))
                    .routes(__servicekit_main)
                    .run_main()
            }
        });
        assert_eq!(output, expected);
    }

    #[test]
    fn other_names_are_kept() {
        let output = expand_str(
            quote!(name = "student-service", crate = "sk"),
            quote! {
                /// Docs.
                pub async fn app(ctx: Context) -> Router { todo!() }
            },
        );
        let expected = normalize(quote! {
            /// Docs.
            pub async fn app(ctx: Context) -> Router { todo!() }

            fn main() -> ::std::process::ExitCode {
                sk::Service::builder("student-service")
                    .version(::core::env!("CARGO_PKG_VERSION"))
                    .routes(app)
                    .run_main()
            }
        });
        assert_eq!(output, expected);
    }

    #[test]
    fn openapi_expression_is_passed_to_the_builder() {
        let output = expand_str(
            quote!(openapi = student_service::api::openapi()),
            quote!(
                async fn app(ctx: Context) -> Router {}
            ),
        );
        assert!(
            output.contains(
                &quote!(.openapi(student_service::api::openapi()) .routes(app)).to_string()
            ),
            "{output}"
        );
    }

    #[test]
    fn migrations_expression_is_passed_by_reference() {
        let output = expand_str(
            quote!(migrations = student_service::MIGRATIONS),
            quote!(
                async fn app(ctx: Context) -> Router {}
            ),
        );
        assert!(
            output.contains(
                &quote!(.migrations(&student_service::MIGRATIONS) .routes(app)).to_string()
            ),
            "{output}"
        );
        let output = expand_str(
            quote!(migrations = if a { A } else { B }),
            quote!(
                async fn app(ctx: Context) -> Router {}
            ),
        );
        assert!(
            output.contains(&quote!(.migrations(&(if a { A } else { B }))).to_string()),
            "{output}"
        );
    }

    #[test]
    fn migrations_directory_is_embedded() {
        let output = expand_str(
            quote!(migrations = "migrations", crate = "servicekit"),
            quote!(
                async fn app(ctx: Context) -> Router {}
            ),
        );
        let expected = quote! {
            .migrations({
                static __SERVICEKIT_MIGRATIONS: servicekit::db::Migrations =
                    servicekit::embed_migrations!("migrations", crate = servicekit);
                &__SERVICEKIT_MIGRATIONS
            })
            .routes(app)
        };
        assert!(output.contains(&expected.to_string()), "{output}");
    }

    #[test]
    fn builder_main_runs_what_the_function_returns() {
        let output = expand_str(
            quote!(builder = student_service::service),
            quote! {
                /// The binary.
                fn main() {}
            },
        );
        let expected = normalize(quote! {
            /// The binary.
            fn main() -> ::std::process::ExitCode {
                let builder: ::servicekit::ServiceBuilder = student_service::service();
                builder.run_main()
            }
        });
        assert_eq!(output, expected);
        let output = expand_str(
            quote!(builder = crate::service, crate = "sk"),
            quote!(
                fn main() {}
            ),
        );
        assert!(
            output
                .contains(&quote!(let builder: sk::ServiceBuilder = crate::service();).to_string()),
            "{output}"
        );
    }

    #[test]
    fn builder_main_must_be_an_empty_main() {
        for item in [
            quote!(
                fn app() {}
            ),
            quote!(
                fn main(ctx: Context) {}
            ),
            quote!(
                fn main() -> ExitCode {}
            ),
            quote!(
                fn main() {
                    run();
                }
            ),
            quote!(
                fn main<T>() {}
            ),
        ] {
            assert_eq!(errors(quote!(builder = service), item), vec![BUILDER_MAIN]);
        }
        // The async-function rules do not apply: no context argument, no return type.
        assert!(
            errors(
                quote!(builder = service),
                quote!(
                    fn main() {}
                )
            )
            .is_empty()
        );
        // On error the item is kept, renamed, so the stub `main` is the only one.
        let output = expand_str(
            quote!(builder = service),
            quote!(
                fn main(x: u8) {}
            ),
        );
        assert!(output.contains("fn __servicekit_main"), "{output}");
        assert!(output.ends_with("fn main () { }"), "{output}");
    }

    #[test]
    fn not_async() {
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    fn app(ctx: Context) -> Router {}
                )
            ),
            vec![NOT_ASYNC]
        );
    }

    #[test]
    fn argument_count_and_receiver() {
        for item in [
            quote!(
                async fn app() -> Router {}
            ),
            quote!(
                async fn app(a: Context, b: u8) -> Router {}
            ),
            quote!(
                async fn app(self) -> Router {}
            ),
            quote!(
                async fn app(&self, ctx: Context) -> Router {}
            ),
        ] {
            assert_eq!(errors(quote!(), item), vec![BAD_ARGUMENTS]);
        }
    }

    #[test]
    fn generics() {
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    async fn app<T>(ctx: T) -> Router {}
                )
            ),
            vec![GENERIC]
        );
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    async fn app(ctx: Context) -> Router
                    where
                        Context: Send,
                    {
                    }
                )
            ),
            vec![GENERIC]
        );
    }

    #[test]
    fn no_return_type() {
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    async fn app(ctx: Context) {}
                )
            ),
            vec![NO_RETURN_TYPE]
        );
    }

    #[test]
    fn not_a_function() {
        assert_eq!(
            errors(
                quote!(),
                quote!(
                    struct Foo;
                )
            ),
            vec![NOT_A_FN]
        );
        let output = expand_str(
            quote!(),
            quote!(
                #[derive(Debug)]
                struct Foo;
            ),
        );
        assert!(
            output.starts_with("# [derive (Debug)] struct Foo ;"),
            "{output}"
        );
        assert!(output.ends_with("fn main () { }"), "{output}");
    }

    #[test]
    fn all_errors_are_reported_together() {
        assert_eq!(
            errors(
                quote!(port = 8080),
                quote!(
                    fn main() {}
                )
            ),
            vec![
                "unknown argument `port` for #[microservice]; valid arguments are: `name`, `crate`, `migrations`, `openapi`, `builder`",
                NOT_ASYNC,
                BAD_ARGUMENTS,
                NO_RETURN_TYPE,
            ]
        );
    }

    #[test]
    fn on_error_the_function_is_kept_and_main_is_stubbed() {
        let output = microservice(
            quote!(foo = 1),
            quote!(
                async fn main(ctx: Context) -> Router {}
            ),
        );
        let output = output.to_string();
        assert!(
            output.starts_with(
                &quote!(
                    #[allow(dead_code)]
                    async fn __servicekit_main(ctx: Context) -> Router {}
                )
                .to_string()
            ),
            "{output}"
        );
        assert!(output.ends_with("fn main () { }"), "{output}");

        let output = microservice(
            quote!(),
            quote!(
                fn app(ctx: Context) -> Router {}
            ),
        )
        .to_string();
        assert!(
            output.starts_with(
                &quote!(
                    #[allow(dead_code)]
                    fn app(ctx: Context) -> Router {}
                )
                .to_string()
            ),
            "{output}"
        );
    }
}
