//! Issue 11: the layers' dependencies point down (docs/ARCHITECTURE.md, "Layers and
//! boundaries"). Read from the source: a file of a lower layer that names a higher one fails here,
//! so an import cycle between core layers cannot come back unnoticed.

use std::path::{Path, PathBuf};

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

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (place, forbidden) in RULES {
        let files = rust_files(&src.join(place));
        assert!(
            !files.is_empty(),
            "src/{place} has no Rust file: the rule is stale"
        );
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (number, line) in text.lines().enumerate() {
                // Doc comments may name other layers; code may not.
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for word in forbidden.iter().filter(|w| line.contains(*w)) {
                    broken.push(format!("{}:{}: {word}", file.display(), number + 1));
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
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed = [src.join("provider"), src.join("demo")];
    let mut welded = Vec::new();
    for file in rust_files(&src) {
        if allowed.iter().any(|folder| file.starts_with(folder)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for word in MERCADOPAGO_CODE.iter().filter(|w| names(line, w)) {
                welded.push(format!("{}:{}: {word}", file.display(), number + 1));
            }
        }
    }
    assert!(
        welded.is_empty(),
        "MercadoPago outside its adapter:\n{}",
        welded.join("\n")
    );
}
