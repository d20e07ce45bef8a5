//! The source tree's layering, as `src/lib.rs` describes it: a module may use the layers
//! listed before its own and never one after, so there is no import cycle between layers;
//! inside `web`, the leaf parts and the state never reach the router, handlers or socket.

use std::path::{Path, PathBuf};

/// The layers in order; a layer may use those before it (and those of equal rank).
const LAYERS: [(&str, u8); 8] = [
    ("kafka", 0),
    ("inference", 1),
    ("load", 2),
    ("exercises", 3),
    ("web", 4),
    ("cli", 5),
    ("shutdown", 5),
    ("commands", 6),
];

/// Inside `web`: leaves, then the state and errors, then handlers and the socket, then the router.
const WEB: [(&str, u8); 11] = [
    ("access", 0),
    ("assets", 0),
    ("guard", 0),
    ("live", 0),
    ("sampler", 0),
    ("error", 1),
    ("state", 1),
    ("api", 2),
    ("ws", 2),
    ("router", 3),
    ("mod", 4),
];

fn rank(table: &[(&str, u8)], name: &str) -> Option<u8> {
    table.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment after each `prefix` in `text` (`crate::kafka::x` → `kafka`).
fn segments_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn no_module_uses_a_layer_after_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let parts: Vec<String> =
            relative.with_extension("").components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let Some(own) = rank(&LAYERS, &parts[0]) else { continue };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for used in segments_after(&text, "crate::") {
            if rank(&LAYERS, used).is_some_and(|r| r > own) {
                wrong.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
        if parts[0] == "web" && parts.len() > 1 {
            let own = rank(&WEB, &parts[1]).unwrap_or_else(|| panic!("{} is not in the WEB table", relative.display()));
            let mut used: Vec<&str> = segments_after(&text, "crate::web::");
            // `super::` from a file directly in web/ names a sibling.
            if parts.len() == 2 {
                used.extend(segments_after(&text, "super::"));
            }
            for u in used {
                if rank(&WEB, u).is_some_and(|r| r > own) {
                    wrong.push(format!("{} uses web::{u}", relative.display()));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} files were read from {}", src.display());
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_use_of_a_later_layer() {
    assert_eq!(segments_after("use crate::web::state::AppState; crate::kafka::x", "crate::"), ["web", "kafka"]);
    assert!(rank(&LAYERS, "web") > rank(&LAYERS, "kafka"));
    assert_eq!(segments_after("use super::router;", "super::"), ["router"]);
}
