//! The layers' imports point one way (docs/architecture.md): this test reads `src/` and
//! fails on an import that must never exist.
//!
//! - `core/` (pure rules) imports nothing of the crate outside `core`, and no AWS or Lambda
//!   crate;
//! - `ports.rs` imports only the core;
//! - `usecases/` import only the core and the ports (never an adapter, an entrypoint, the
//!   wiring or the log format), and no AWS or Lambda crate;
//! - `adapters/` import only the core, the ports and other adapters;
//! - `entrypoints/` import the core, the ports, the use cases and the log format; they get
//!   adapters from the wiring (`app.rs`), never by import;
//! - nothing shipped imports the emulator set-up (`call-events-local`), and it is no
//!   dependency of the function's package.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The external crates the check looks for: AWS, Lambda, and the emulator set-up.
const AWS_AND_LAMBDA: &[&str] = &[
    "aws_sdk_",
    "aws_smithy_",
    "aws_config",
    "aws_lambda_events",
    "lambda_http",
    "lambda_runtime",
    "serde_dynamo",
    "call_events_local",
];

/// The crate's top-level modules a file's code names (`crate::x`), and the external crates
/// it names, comments left out.
fn imports(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut modules = BTreeSet::new();
    let mut crates = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (i, _) in code.match_indices("crate::") {
            let before = code[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue; // `$crate::` in a macro, or part of another name
            }
            let name: String = code[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            modules.insert(name);
        }
        for external in AWS_AND_LAMBDA {
            if code.contains(external) {
                crates.insert(external.to_string());
            }
        }
    }
    (modules, crates)
}

/// The layer of a file under `src/`.
fn layer(relative: &Path) -> &'static str {
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    match first {
        "core" => "core",
        "ports.rs" => "ports",
        "usecases" => "usecases",
        "adapters" => "adapters",
        "entrypoints" => "entrypoints",
        _ => "wiring",
    }
}

/// The crate's modules each layer may name.
fn allowed(layer: &str) -> &'static [&'static str] {
    match layer {
        "core" => &["core"],
        "ports" => &["core", "ports"],
        "usecases" => &["core", "ports", "usecases"],
        "adapters" => &["core", "ports", "adapters"],
        "entrypoints" => &["core", "ports", "usecases", "entrypoints", "telemetry"],
        _ => &[
            "core",
            "ports",
            "usecases",
            "adapters",
            "entrypoints",
            "telemetry",
            "config",
            "app",
        ],
    }
}

/// External crates a layer must not name.
fn forbidden_crates(layer: &str) -> &'static [&'static str] {
    match layer {
        "core" | "ports" | "usecases" => AWS_AND_LAMBDA,
        _ => &["call_events_local"],
    }
}

/// Every forbidden import under `src/`, as `file: what`.
fn violations(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in sources(src) {
        let relative = file.strip_prefix(src).unwrap();
        let layer = layer(relative);
        let (modules, crates) = imports(&std::fs::read_to_string(&file).unwrap());
        // A binary split into modules (`bin/<name>/`) is a crate of its own: its `crate::`
        // names its own modules; it reaches the library as `call_events::`, as wiring may.
        let own_crate = relative.starts_with("bin") && relative.components().count() > 2;
        for module in modules.into_iter().filter(|_| !own_crate) {
            if !allowed(layer).contains(&module.as_str()) {
                found.push(format!("{} ({layer}): crate::{module}", relative.display()));
            }
        }
        for external in crates {
            if forbidden_crates(layer).contains(&external.as_str()) {
                found.push(format!("{} ({layer}): {external}", relative.display()));
            }
        }
    }
    found
}

#[test]
fn no_layer_imports_what_it_must_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "forbidden imports:\n{}", found.join("\n"));
}

#[test]
fn the_check_finds_a_forbidden_import() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "core/lead.rs",
        "use crate::adapters::memory::MemoryLeadStore;\n",
    );
    write(
        "usecases/relay.rs",
        "use crate::telemetry::error_chain;\n// crate::adapters in a comment\n",
    );
    write(
        "entrypoints/http.rs",
        "use crate::adapters::dynamodb::item::committed;\n",
    );
    write(
        "usecases/record.rs",
        "fn f(_: aws_sdk_dynamodb::Client) {}\n",
    );
    write("app.rs", "use call_events_local::create;\n");
    write(
        "adapters/sqs.rs",
        "use crate::usecases::replay::QuarantineQueue;\n",
    );
    let found = violations(dir);
    assert_eq!(
        found.len(),
        6,
        "each planted import is found, the comment is not: {found:#?}"
    );
}

#[test]
fn the_emulator_set_up_is_no_dependency_of_the_function() {
    let manifest: toml_like::Manifest =
        toml_like::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    assert!(
        !manifest
            .dependencies
            .iter()
            .any(|d| d == "call-events-local"),
        "{:?}",
        manifest.dependencies
    );
    assert!(
        manifest
            .dev_dependencies
            .iter()
            .any(|d| d == "call-events-local")
    );
}

/// Just enough of Cargo.toml: the names under `[dependencies]` and `[dev-dependencies]`.
mod toml_like {
    use std::path::Path;

    pub struct Manifest {
        pub dependencies: Vec<String>,
        pub dev_dependencies: Vec<String>,
    }

    pub fn read(path: &Path) -> Manifest {
        let text = std::fs::read_to_string(path).unwrap();
        let mut manifest = Manifest {
            dependencies: Vec::new(),
            dev_dependencies: Vec::new(),
        };
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            let Some((name, _)) = line.split_once('=') else {
                continue;
            };
            if line.starts_with('#') {
                continue;
            }
            let name = name.trim().to_owned();
            match section.as_str() {
                "[dependencies]" => manifest.dependencies.push(name),
                "[dev-dependencies]" => manifest.dev_dependencies.push(name),
                _ => {}
            }
        }
        manifest
    }
}
