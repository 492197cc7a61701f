// Writes the files of tree SRC into DST, like gitopsc emit::write::apply but without the compiler:
// `direct` (fs::write to the target) or `staged` (temp file in one DST/.tmp folder + rename), on
// T threads. Build and run (DST must not exist; see RESULTS.md, finding 6):
//   rustc -O -o /tmp/write-pattern bench/write-pattern.rs && /tmp/write-pattern SRC DST staged 2
use std::fs; use std::path::{Path, PathBuf}; use std::sync::atomic::{AtomicUsize, Ordering};
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in fs::read_dir(dir).unwrap() { let e = e.unwrap(); let p = e.path();
        if p.is_dir() { walk(root, &p, out) } else {
            out.push((p.strip_prefix(root).unwrap().to_string_lossy().into(), fs::read(&p).unwrap())) } } }
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (src, dst, mode, threads) = (PathBuf::from(&a[1]), PathBuf::from(&a[2]), a[3].clone(), a[4].parse::<usize>().unwrap());
    let mut files = Vec::new(); walk(&src, &src, &mut files); files.sort();
    let t0 = std::time::Instant::now();
    fs::create_dir_all(&dst).unwrap();
    let staging = dst.join(".tmp"); if mode == "staged" { fs::create_dir(&staging).unwrap(); }
    let dirs: std::collections::BTreeSet<PathBuf> = files.iter().filter_map(|(p, _)| Path::new(p).parent().map(|d| dst.join(d))).collect();
    for d in dirs { fs::create_dir_all(d).unwrap(); }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| for _ in 0..threads { s.spawn(|| loop {
        let i = next.fetch_add(1, Ordering::Relaxed); if i >= files.len() { break }
        let (p, b) = &files[i]; let target = dst.join(p);
        if mode == "staged" { let t = staging.join(i.to_string()); fs::write(&t, b).unwrap(); fs::rename(&t, &target).unwrap(); }
        else { fs::write(&target, b).unwrap(); } }); });
    if mode == "staged" { fs::remove_dir(&staging).unwrap(); }
    eprintln!("{mode} x{threads}: {} files in {:?}", files.len(), t0.elapsed());
}
