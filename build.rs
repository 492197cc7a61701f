//! Embeds every file under `blueprints/` into the binary (see `render::BLUEPRINTS`).

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read at run time, not with `env!`: a build script compiled in one checkout and reused by
    // another (a copied `target/`) would otherwise embed the first checkout's blueprints.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR set by cargo");
    println!("cargo:rerun-if-changed=blueprints");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // An identity of this build's sources: the lock file records it, so a tree is only ever
    // taken as current without rendering by the very code that rendered it.
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let root = Path::new(&manifest_dir);
    let mut inputs = Vec::new();
    for dir in ["src", "blueprints"] {
        collect_all(&root.join(dir), &mut inputs);
    }
    inputs.push(root.join("Cargo.lock"));
    inputs.sort();
    for path in inputs {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(&path).unwrap_or_default());
        hasher.update([0]);
    }
    let id: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo:rustc-env=GITOPSC_BUILD_ID={id}");
    println!("cargo:rustc-env=GITOPSC_VERSION_LINE={}", version_line(root));
    let root = Path::new(&manifest_dir).join("blueprints");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from(
        "/// The blueprints built into the binary: (name, text), sorted by name.\npub const BLUEPRINTS: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &files {
        println!("cargo:rerun-if-changed={path}");
        let _ = writeln!(code, "    ({name:?}, include_str!({path:?})),");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR set by cargo")).join("blueprints.rs");
    std::fs::write(out, code).expect("write blueprints.rs");
}

fn collect_all(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_all(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("blueprints/ is readable")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "j2") {
            let name = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            files.push((name, path.to_string_lossy().into_owned()));
        }
    }
}

/// `<version> (<commit>)` when the sources are a git checkout, else `<version>`; the build
/// reruns when HEAD moves.
fn version_line(root: &Path) -> String {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
    }
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) if !commit.is_empty() => format!("{version} ({commit})"),
        _ => version,
    }
}
