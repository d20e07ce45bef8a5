//! The source tree's shape, as `src/lib.rs` describes it:
//!
//! - a module may use the layers listed before its own and never one after, so there is no
//!   import cycle between layers; inside `web`, the leaf parts and the state never reach the
//!   router, handlers or socket;
//! - no two modules of one folder use each other, directly or round a longer circle (a
//!   folder's `mod.rs` is the folder itself, not a sibling; what it re-exports counts as the
//!   module it comes from);
//! - every module is named in its parent's documentation (`lib.rs` for the layers, a folder's
//!   `mod.rs` for its files), so the map a reader starts from is complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers in order; a layer may use those before it.
const LAYERS: [(&str, u8); 9] = [
    ("shutdown", 0),
    ("kafka", 1),
    ("inference", 2),
    ("load", 3),
    ("exercises", 4),
    ("web", 5),
    ("cli", 6),
    ("lab", 7),
    ("commands", 8),
];

/// Inside `web`: leaves, then the state and errors, then handlers and the socket, then the router.
const WEB: [(&str, u8); 13] = [
    ("access", 0),
    ("assets", 0),
    ("gradebook", 0),
    ("guard", 0),
    ("live", 0),
    ("registry", 0),
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

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// A file's code: without comments (a doc link names what it links, not what it uses) and
/// without its unit tests, whose `super::` is the file itself.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The first path segment after each `prefix` in `text`, groups opened (`crate::kafka::x` →
/// `kafka`; `super::{a, b::c}` → `a`, `b`).
fn segments_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        // `crate::` inside a longer name (`my_crate::`) is not this prefix.
        if text[..i].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth < 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut item = String::new();
            let mut depth = 0;
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name: String =
                            item.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                        if !name.is_empty() && name != "self" {
                            out.push(name);
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// The names a folder's `mod.rs` re-exports, each with the module it comes from
/// (`pub use service::InferenceService;` → `InferenceService` → `service`).
fn re_exports(mod_rs: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in code(mod_rs).split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else { continue };
        let Some((module, items)) = path.split_once("::") else { continue };
        for item in segments_after(&format!("x::{items}"), "x::") {
            out.insert(item, module.to_owned());
        }
        // `pub use a::b::Name` re-exports `Name`, the last segment.
        if let Some(last) = items.rsplit("::").next().filter(|l| !l.contains('{')) {
            out.insert(last.trim().to_owned(), module.to_owned());
        }
    }
    out
}

#[test]
fn no_module_uses_a_layer_after_its_own() {
    let src = src();
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
        let text = code(&std::fs::read_to_string(file).unwrap());
        for used in segments_after(&text, "crate::") {
            if rank(&LAYERS, &used).is_some_and(|r| r > own) {
                wrong.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
        if parts[0] == "web" && parts.len() > 1 {
            let own = rank(&WEB, &parts[1]).unwrap_or_else(|| panic!("{} is not in the WEB table", relative.display()));
            let mut used = segments_after(&text, "crate::web::");
            // `super::` from a file directly in web/ names a sibling.
            if parts.len() == 2 {
                used.extend(segments_after(&text, "super::"));
            }
            for u in used {
                if rank(&WEB, &u).is_some_and(|r| r > own) {
                    wrong.push(format!("{} uses web::{u}", relative.display()));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} files were read from {}", src.display());
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

/// Per folder under `src`, which of its modules each of its modules uses.
fn sibling_uses(src: &Path) -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut folders: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let folder = file.parent().unwrap();
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" || (folder == src && (name == "lib" || name == "main")) {
            continue;
        }
        let siblings: BTreeSet<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| match p.extension() {
                Some(e) if e == "rs" => Some(p.file_stem()?.to_string_lossy().into_owned()),
                None if p.is_dir() => Some(p.file_name()?.to_string_lossy().into_owned()),
                _ => None,
            })
            .filter(|n| n != "mod" && n != "lib" && n != "main")
            .collect();
        let exports = re_exports(&std::fs::read_to_string(folder.join("mod.rs")).unwrap_or_default());
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut named = segments_after(&text, "super::");
        let relative = folder.strip_prefix(src).unwrap();
        if relative.components().count() > 0 {
            let absolute: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            named.extend(segments_after(&text, &format!("crate::{}::", absolute.join("::"))));
        } else {
            named.extend(segments_after(&text, "crate::"));
        }
        let used: BTreeSet<String> = named
            .into_iter()
            .filter_map(|n| if siblings.contains(&n) { Some(n) } else { exports.get(&n).cloned() })
            .filter(|n| *n != name)
            .collect();
        folders.entry(folder.to_owned()).or_default().insert(name, used);
    }
    folders
}

/// The circles in a graph: each a path that comes back to where it started.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(start) = path.iter().position(|p| p == at) {
            let mut circle = path[start..].to_vec();
            circle.push(at.to_owned());
            found.push(circle);
            return;
        }
        if done.contains(at) {
            return;
        }
        path.push(at.to_owned());
        for next in graph.get(at).into_iter().flatten() {
            walk(graph, next, path, done, found);
        }
        path.pop();
        done.insert(at.to_owned());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        walk(graph, node, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_two_modules_of_a_folder_use_each_other() {
    let src = src();
    let folders = sibling_uses(&src);
    assert!(folders.len() > 8, "only {} folders were read", folders.len());
    let mut wrong = Vec::new();
    for (folder, graph) in &folders {
        for circle in circles(graph) {
            wrong.push(format!("{}: {}", folder.strip_prefix(&src).unwrap().display(), circle.join(" → ")));
        }
    }
    assert!(wrong.is_empty(), "modules that use each other:\n{}", wrong.join("\n"));
}

#[test]
fn every_module_is_named_in_its_parents_documentation() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for file in &files {
        let (folder, stem) = (file.parent().unwrap(), file.file_stem().unwrap().to_string_lossy());
        if folder == src && (stem == "lib" || stem == "main") {
            continue;
        }
        // A folder's mod.rs is the folder's module, named in the folder above.
        let (name, parent) = if stem == "mod" {
            let above = folder.parent().unwrap();
            let doc = if above == src { src.join("lib.rs") } else { above.join("mod.rs") };
            (folder.file_name().unwrap().to_string_lossy().into_owned(), doc)
        } else {
            let doc = if folder == src { src.join("lib.rs") } else { folder.join("mod.rs") };
            (stem.into_owned(), doc)
        };
        let doc: String = std::fs::read_to_string(&parent)
            .unwrap()
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        if !doc.contains(&format!("`{name}`")) && !doc.contains(&format!("`{name}/`")) {
            missing.push(format!(
                "{} is not named in {}",
                file.strip_prefix(&src).unwrap().display(),
                parent.display()
            ));
        }
    }
    assert!(missing.is_empty(), "the map is missing modules:\n{}", missing.join("\n"));
}

#[test]
fn the_checks_see_what_they_look_for() {
    assert_eq!(segments_after("use crate::web::state::AppState; crate::kafka::x", "crate::"), ["web", "kafka"]);
    assert_eq!(segments_after("use super::{answer::{a, b}, window::Windows, self};", "super::"), ["answer", "window"]);
    assert!(segments_after("my_crate::web", "crate::").is_empty());
    assert!(rank(&LAYERS, "web") > rank(&LAYERS, "kafka"));
    let exports = re_exports("pub mod service;\npub use service::{InferenceService, Other};\npub use config::Config;");
    assert_eq!(exports.get("InferenceService").map(String::as_str), Some("service"));
    assert_eq!(exports.get("Config").map(String::as_str), Some("config"));
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(circles(&graph), [["a", "b", "c", "a"]]);
    let line: BTreeMap<String, BTreeSet<String>> =
        [("a".to_owned(), BTreeSet::from(["b".to_owned()])), ("b".to_owned(), BTreeSet::new())].into();
    assert!(circles(&line).is_empty());
}
