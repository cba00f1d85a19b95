//! The layers' dependencies point down (docs/ARCHITECTURE.md, "Layers and boundaries"), read
//! from the source. Issue 23: the module graph is computed from every `use crate::…` (and
//! `super::`, `self::`, child-module paths) in `src/` ([`graph`]); a module naming a higher
//! layer, a cycle between top-level modules, or an import circle of more than three files fails
//! here. Issue 11: a file of a lower layer that names a higher one's types fails too.

mod graph;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use graph::{Graph, Module, cycles, display};

/// Where the process is put together: these may name any module, and anything may name them
/// (request handlers share `state::AppState`). A cycle through them is not a layering fault.
const COMPOSITION_ROOTS: &[&str] = &["app", "state", "cli", "demo", "lib"];

/// The top-level modules, lowest layer first. A module may name its own layer, lower ones and
/// the composition roots, nothing else. Keep docs/ARCHITECTURE.md's drawing in step.
const LAYERS: &[&[&str]] = &[
    // Rules and plumbing with no knowledge of storage or HTTP.
    &[
        "domain",
        "secrets",
        "config",
        "outbound",
        "publish",
        "lease",
        "telemetry",
    ],
    // Storage, and the adapters of the services Cobro calls.
    &["store", "provider", "ghl"],
    // Every write, committed in cycles.
    &["writer"],
    // Sellers' OAuth connections (the admin API and the pipeline's refresh-once).
    &["connect"],
    // The processing core: tenant actors and their batches.
    &["tenant"],
    // What drives the core: ingest (the webhook edge), the cluster, retention; the process's
    // handles; the typed errors every HTTP edge answers with (mapped once, `error`).
    &[
        "ingest",
        "cluster",
        "retention",
        "relay",
        "services",
        "error",
    ],
    // The other HTTP edges.
    &["auth", "api", "ws", "metrics", "dashboard"],
];

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn is_root(top: &str) -> bool {
    COMPOSITION_ROOTS.contains(&top)
}

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&top))
}

#[test]
fn every_top_level_module_names_only_its_layer_and_those_below() {
    let graph = Graph::of_crate(&source_dir()).top_level();
    let mut broken = Vec::new();
    for (from, tos) in &graph {
        if is_root(from) {
            continue;
        }
        let Some(own) = layer_of(from) else {
            broken.push(format!("src/{from} is in no layer: add it to LAYERS"));
            continue;
        };
        for to in tos.iter().filter(|to| !is_root(to)) {
            if layer_of(to).is_none_or(|theirs| theirs > own) {
                broken.push(format!("{from} (layer {own}) names {to}, above it"));
            }
        }
    }
    assert!(broken.is_empty(), "layers broken:\n{}", broken.join("\n"));
}

/// The top-level graph without the composition roots has no cycle: whatever the layer list says.
#[test]
fn no_cycle_between_top_level_modules_but_through_the_roots() {
    let mut graph = Graph::of_crate(&source_dir()).top_level();
    graph.retain(|from, _| !is_root(from));
    for tos in graph.values_mut() {
        tos.retain(|to| !is_root(to));
    }
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "cycles between top-level modules: {found:?}"
    );
}

#[test]
fn no_import_circle_of_more_than_three_files() {
    let graph = Graph::of_crate(&source_dir());
    let edges: BTreeMap<Module, BTreeSet<Module>> = graph.edges;
    let large: Vec<String> = cycles(&edges)
        .into_iter()
        .filter(|circle| circle.len() > 3)
        .map(|circle| {
            let files: Vec<String> = circle.iter().map(display).collect();
            let inner: Vec<String> = circle
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| circle.contains(to))
                        .map(move |to| format!("  {} -> {}", display(from), display(to)))
                })
                .collect();
            format!(
                "{} files: {}\n{}",
                circle.len(),
                files.join(", "),
                inner.join("\n")
            )
        })
        .collect();
    assert!(large.is_empty(), "import circles:\n{}", large.join("\n\n"));
}

/// The graph the tests above judge, printed for a reader (`cargo test --test it
/// print_the_module_graph -- --ignored --nocapture`).
#[test]
#[ignore = "prints the graph; asserts nothing"]
fn print_the_module_graph() {
    for (from, tos) in Graph::of_crate(&source_dir()).top_level() {
        let tos: Vec<&str> = tos.iter().map(String::as_str).collect();
        println!("{from} -> {}", tos.join(" "));
    }
}

/// The graph reader itself: a cycle it cannot see would make the tests above pass on anything.
#[test]
fn the_graph_reader_sees_a_cycle_made_on_purpose() {
    let dir = std::env::temp_dir().join(format!("cobro-layers-{}", uuid::Uuid::new_v4()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::write(path, text).expect("written");
    };
    write("lib.rs", "pub mod a;\npub mod b;\n");
    write("a/mod.rs", "mod inner;\nuse inner::Thing;\n");
    write("a/inner.rs", "use crate::{b::{self, deep::Other}};\n");
    write(
        "b/mod.rs",
        "pub mod deep;\n// use crate::a; (a comment is not code)\n",
    );
    write("b/deep.rs", "pub fn f() { super::super::a::g() }\n");
    let graph = Graph::of_crate(&dir);
    std::fs::remove_dir_all(&dir).expect("removed");
    let module = |path: &str| -> Module { path.split('/').map(str::to_owned).collect() };
    assert!(graph.edges[&module("a")].contains(&module("a/inner")));
    assert!(graph.edges[&module("a/inner")].contains(&module("b/deep")));
    assert!(graph.edges[&module("a/inner")].contains(&module("b")));
    assert!(
        graph.edges[&module("b")].is_empty(),
        "comments are not code"
    );
    assert_eq!(
        cycles(&graph.top_level()),
        vec![vec!["a".to_owned(), "b".to_owned()]]
    );
}

/// Folders (or files) under `src/` and what their code may not name.
const RULES: &[(&str, &[&str])] = &[
    // Pure rules: no I/O, no storage, no HTTP, nothing above.
    (
        "domain",
        &[
            "crate::store",
            "crate::tenant",
            "crate::api",
            "crate::config",
            "crate::provider",
            "crate::outbound",
            "sea_orm",
            "reqwest",
            "actix",
        ],
    ),
    // A provider adapter speaks HTTP to its provider and hands neutral types up; it never reaches
    // into storage, processing or the web framework.
    (
        "provider",
        &[
            "crate::store",
            "crate::tenant",
            "crate::writer",
            "crate::ingest",
            "crate::api",
            "crate::app",
            "crate::state",
            "crate::services",
            "AppError",
            "sea_orm",
            "actix",
            "utoipa",
        ],
    ),
    // Storage: no HTTP, no OpenAPI, no request handling.
    (
        "store",
        &[
            "crate::api",
            "crate::app",
            "crate::state",
            "AppError",
            "utoipa",
            "actix_web",
            "crate::tenant",
            "crate::ws",
        ],
    ),
    // Processing and its writes: no HTTP edge.
    (
        "tenant",
        &[
            "crate::api",
            "crate::app",
            "crate::state",
            "AppError",
            "utoipa",
            "actix_web",
        ],
    ),
    (
        "writer",
        &[
            "crate::api",
            "crate::app",
            "crate::state",
            "crate::tenant",
            "AppError",
            "utoipa",
            "actix_web",
        ],
    ),
    (
        "cluster",
        &[
            "crate::api",
            "crate::app",
            "crate::state",
            "AppError",
            "utoipa",
            "actix_web",
        ],
    ),
    // The WebSocket edge does not import the REST edge.
    ("ws", &["crate::api"]),
    // Configuration and the secret box sit below everything that reads them.
    (
        "config",
        &["crate::tenant", "crate::store", "crate::api", "crate::app"],
    ),
    (
        "secrets.rs",
        &["crate::store", "crate::config", "crate::api", "sea_orm"],
    ),
    ("auth.rs", &["crate::api", "crate::app", "crate::state"]),
];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).expect("source folder").flatten() {
        files.extend(rust_files(&entry.path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

/// The lines of `file` that are code (comments may name anything), as `path:line` and text.
fn code_lines(file: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).expect("readable source");
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(n, line)| (format!("{}:{}", file.display(), n + 1), line.to_owned()))
        .collect()
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = source_dir();
    let mut broken = Vec::new();
    for (place, forbidden) in RULES {
        let files = rust_files(&src.join(place));
        assert!(
            !files.is_empty(),
            "src/{place} has no Rust file: the rule is stale"
        );
        for file in files {
            for (at, line) in code_lines(&file) {
                for word in forbidden.iter().filter(|w| line.contains(*w)) {
                    broken.push(format!("{at}: {word}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layers broken:\n{}", broken.join("\n"));
}

/// Code that names MercadoPago's own types and modules. Wire names (`/webhooks/mp`, `mp_user_id`)
/// and prose are not code, so they are not here.
const MERCADOPAGO_CODE: &[&str] = &["mercadopago::", "MpClient", "MpPayment", "MpError"];

/// Whether `line` holds `word` as a whole name: `MpPayment` but not the column `MpPaymentId`
/// (a word ending in `::` is a path prefix and matches wherever it stands).
fn names(line: &str, word: &str) -> bool {
    let in_name = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let next = line[at + word.len()..].chars().next();
        word.ends_with("::") || !next.is_some_and(in_name)
    })
}

/// Issue 11: MercadoPago lives in `src/provider/mercadopago/`; the rest of Cobro reaches it only
/// through `provider::Provider` and `provider::Providers`. The demo is the exception by design:
/// its sandbox plays MercadoPago and signs webhooks as MercadoPago does.
#[test]
fn only_the_provider_folder_names_mercadopago_code() {
    let src = source_dir();
    let allowed = [src.join("provider"), src.join("demo")];
    let mut welded = Vec::new();
    for file in rust_files(&src) {
        if allowed.iter().any(|folder| file.starts_with(folder)) {
            continue;
        }
        for (at, line) in code_lines(&file) {
            for word in MERCADOPAGO_CODE.iter().filter(|w| names(&line, w)) {
                welded.push(format!("{at}: {word}"));
            }
        }
    }
    assert!(
        welded.is_empty(),
        "MercadoPago outside its adapter:\n{}",
        welded.join("\n")
    );
}
