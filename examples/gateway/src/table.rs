//! The route table: which upstream (and which release of it) serves a path.

use std::collections::HashMap;

use servicekit::client::ServiceClient;

use crate::settings::{Sticky, TableConfig};

/// The gateway's clients, one per `[clients.<name>]` table, by name with `_` and `-` alike.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    by_name: HashMap<String, ServiceClient>,
}

impl Clients {
    /// Adds the client `name`.
    pub fn insert(&mut self, name: &str, client: ServiceClient) {
        self.by_name.insert(fold(name), client);
    }

    /// The client `name` (`student_service` and `student-service` are the same).
    pub fn get(&self, name: &str) -> Option<&ServiceClient> {
        self.by_name.get(&fold(name))
    }

    /// Every client.
    pub fn iter(&self) -> impl Iterator<Item = &ServiceClient> {
        self.by_name.values()
    }
}

fn fold(name: &str) -> String {
    name.replace('_', "-")
}

/// A route table that cannot be used; `key` is where the mistake is, below `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// The key, e.g. `app.routes."/students"`.
    pub key: String,
    /// What is wrong and how to correct it.
    pub message: String,
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for TableError {}

/// The routes, longest prefix first.
#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// One prefix and the upstream that serves it.
#[derive(Debug)]
pub struct Route {
    prefix: String,
    /// Who serves the route.
    pub upstream: Upstream,
}

/// An upstream: its stable client and, during a release, its canary.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The upstream's name (its stable client's name), as in `[app.releases.<name>]`.
    pub name: String,
    /// The stable version.
    pub stable: ServiceClient,
    /// The other version, while a release is configured.
    pub release: Option<Release>,
}

/// The other version of an upstream and the share of requests it gets.
#[derive(Debug, Clone)]
pub struct Release {
    /// The canary's client.
    pub canary: ServiceClient,
    /// Percent of requests, 0 to 100.
    pub weight: u8,
    /// How a client keeps its version.
    pub sticky: Sticky,
}

impl RouteTable {
    /// Builds the table from `config`; keys in errors are written below `origin` (`app` for
    /// the `[app]` section, empty for a routes file).
    pub fn build(
        config: &TableConfig,
        clients: &Clients,
        origin: &str,
    ) -> Result<Self, TableError> {
        let key = |rest: String| {
            if origin.is_empty() {
                rest
            } else {
                format!("{origin}.{rest}")
            }
        };
        let client = |name: &str, at: String| {
            clients.get(name).cloned().ok_or_else(|| TableError {
                key: at,
                message: format!(
                    "no client `{name}` is configured; add a [clients.{name}] table with \
                     base_url = \"http://...\" (or SERVICEKIT__CLIENTS__{}__BASE_URL) and \
                     restart the gateway",
                    name.to_ascii_uppercase().replace('-', "_")
                ),
            })
        };
        for (name, release) in &config.releases {
            let at = key(format!("releases.{name}"));
            if !config.routes.values().any(|u| fold(u) == fold(name)) {
                return Err(TableError {
                    key: at,
                    message: format!(
                        "no route sends to `{name}`; name an upstream of `routes`, or remove \
                         this release"
                    ),
                });
            }
            if release.weight > 100 {
                return Err(TableError {
                    key: format!("{at}.weight"),
                    message: format!(
                        "{} is not a percentage; give 0 to 100 (100 sends everything to the \
                         canary)",
                        release.weight
                    ),
                });
            }
        }
        let mut routes = Vec::with_capacity(config.routes.len());
        for (prefix, name) in &config.routes {
            let at = key(format!("routes.\"{prefix}\""));
            if !prefix.starts_with('/') {
                return Err(TableError {
                    key: at,
                    message: "a route prefix is a path starting with `/`, e.g. `/students`"
                        .to_string(),
                });
            }
            let stable = client(name, at)?;
            let release = config
                .releases
                .iter()
                .find(|(upstream, _)| fold(upstream) == fold(name))
                .map(|(upstream, r)| {
                    let canary = client(&r.canary, key(format!("releases.{upstream}.canary")))?;
                    Ok::<_, TableError>(Release {
                        canary,
                        weight: r.weight,
                        sticky: r.sticky,
                    })
                })
                .transpose()?;
            let trimmed = prefix.trim_end_matches('/');
            routes.push(Route {
                prefix: trimmed.to_string(),
                upstream: Upstream {
                    name: name.clone(),
                    stable,
                    release,
                },
            });
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Ok(Self { routes })
    }

    /// The route for `path`: the longest prefix that is `path` itself or a parent of it.
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| {
            r.prefix.is_empty()
                || path
                    .strip_prefix(r.prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servicekit::client::ClientConfig;

    fn clients(names: &[&str]) -> Clients {
        let mut clients = Clients::default();
        for name in names {
            let client =
                ServiceClient::new(name, &ClientConfig::new("http://127.0.0.1:9")).unwrap();
            clients.insert(name, client);
        }
        clients
    }

    fn table(routes: &[(&str, &str)]) -> TableConfig {
        TableConfig {
            routes: routes
                .iter()
                .map(|(p, u)| (p.to_string(), u.to_string()))
                .collect(),
            releases: Default::default(),
        }
    }

    #[test]
    fn the_longest_prefix_on_a_segment_boundary_wins() {
        let clients = clients(&["a", "b", "c"]);
        let t = RouteTable::build(
            &table(&[("/s", "a"), ("/s/x/", "b"), ("/", "c")]),
            &clients,
            "app",
        )
        .unwrap();
        let upstream = |p: &str| t.route(p).map(|r| r.upstream.name.as_str());
        assert_eq!(upstream("/s"), Some("a"));
        assert_eq!(upstream("/s/1"), Some("a"));
        assert_eq!(upstream("/s/x"), Some("b"));
        assert_eq!(upstream("/s/x/y"), Some("b"));
        assert_eq!(upstream("/sx"), Some("c"));
    }

    #[test]
    fn unknown_clients_and_bad_weights_name_the_key() {
        let clients = clients(&["a"]);
        let err = RouteTable::build(&table(&[("/s", "nope")]), &clients, "app").unwrap_err();
        assert_eq!(err.key, "app.routes.\"/s\"");
        assert!(err.message.contains("[clients.nope]"), "{err}");

        let mut config = table(&[("/s", "a")]);
        config.releases.insert(
            "a".into(),
            crate::settings::ReleaseConfig {
                canary: "a".into(),
                weight: 101,
                sticky: Sticky::None,
            },
        );
        let err = RouteTable::build(&config, &clients, "").unwrap_err();
        assert_eq!(err.key, "releases.a.weight");
    }
}
