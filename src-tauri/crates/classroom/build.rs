//! Embeds the built student page (`ui/student-dist/`, made by `npm run build` in `ui/`) into the
//! crate: a table of paths and bytes, so the app serves the page without a file system. When the
//! page was not built, a one-line page says so instead (the crate still compiles).

use std::path::{Path, PathBuf};

/// The largest number of files embedded (the page is an HTML file, a script and a style sheet).
const MAX_FILES: usize = 32;

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), out);
        } else if out.len() < MAX_FILES {
            out.push((format!("{prefix}{name}"), path));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("../../../ui/student-dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, "/", &mut files);
    }
    let mut code = String::from("/// The student page's files: URL path and bytes.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        let absolute = path.canonicalize().unwrap_or_else(|_| path.clone());
        code.push_str(&format!(
            "    ({url:?}, include_bytes!({:?})),\n",
            absolute.display().to_string()
        ));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// True when the built page is embedded (false: `ui/student-dist` was missing).\npub const BUILT: bool = {};\n",
        !files.is_empty()
    ));
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("student_page.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("writing {}: {error}", out.display());
    }
}
