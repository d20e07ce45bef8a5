//! Embeds the built browser lab (frontend/dist, or $STREAMLAB_FRONTEND_DIST) in the binary,
//! so that a user runs one program and never a separate web server.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=STREAMLAB_FRONTEND_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = std::env::var_os("STREAMLAB_FRONTEND_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../frontend/dist"));
    // A directory here makes cargo rebuild when any file below it changes.
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    // Each file also gzip-compressed at build time: browsers that accept gzip (all of them)
    // get a third of the bytes, with no compression work per request.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut out = String::from("pub static ASSETS: &[(&str, &[u8], &[u8])] = &[\n");
    for (i, (name, path)) in files.iter().enumerate() {
        let gz = out_dir.join(format!("asset-{i}.gz"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &std::fs::read(path).unwrap()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?}), include_bytes!({:?})),",
            path.display().to_string(),
            gz.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    writeln!(out, "pub const FRONTEND_BUILT: bool = {};", !files.is_empty()).unwrap();
    let dest = out_dir.join("assets.rs");
    std::fs::write(dest, out).unwrap();
    embed_exercises(&manifest.join("../exercises"), &out_dir);
}

/// The exercises (index.toml, each folder's exercise.toml and README files) as text, so
/// `streamlab check` and the lab need no files beside the binary.
fn embed_exercises(dir: &Path, out_dir: &Path) {
    let mut files = Vec::new();
    if dir.is_dir() {
        collect(dir, dir, &mut files);
    }
    files.retain(|(name, _)| name.ends_with(".toml") || name.ends_with(".md"));
    files.sort();
    // The embedded files only, not the folder: a student's `mvn` build in exercise 14's
    // project must not make the next `./lab run` rebuild streamlab. A new exercise is
    // listed in index.toml, which is watched.
    for (_, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let mut out = String::from("pub static EXERCISE_FILES: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        writeln!(out, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    std::fs::write(out_dir.join("exercises.rs"), out).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((name, std::fs::canonicalize(&path).unwrap()));
        }
    }
}
