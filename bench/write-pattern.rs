// Writes the files of tree SRC into DST, like gitopsc emit::write::apply but without the compiler:
// `direct` (fs::write to the target), `staged` (temp file in one DST/.tmp folder + rename) or
// `beside` (temp file `.NAME.tmp` beside the target + rename), on T threads, each taking the next
// file (or, with a fifth argument `chunks`, each its own contiguous share, as rayon does). Build and run (DST must not exist; see RESULTS.md, finding 6):
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
    let next = AtomicUsize::new(0); let chunks = a.get(5).is_some_and(|c| c == "chunks");
    let share = files.len().div_ceil(threads);
    std::thread::scope(|s| for t in 0..threads { let next = &next; let files = &files; let (dst, staging, mode) = (&dst, &staging, &mode); s.spawn(move || for n in 0.. {
        let i = if chunks { if n >= share { break } t * share + n } else { next.fetch_add(1, Ordering::Relaxed) };
        if i >= files.len() { break }
        let (p, b) = &files[i]; let target = dst.join(p);
        if mode == "staged" { let t = staging.join(i.to_string()); fs::write(&t, b).unwrap(); fs::rename(&t, &target).unwrap(); }
        else if mode == "beside" { let name = target.file_name().unwrap().to_string_lossy();
            let t = target.with_file_name(format!(".{name}.tmp")); fs::write(&t, b).unwrap(); fs::rename(&t, &target).unwrap(); }
        else { fs::write(&target, b).unwrap(); } }); });
    if mode == "staged" { fs::remove_dir(&staging).unwrap(); }
    eprintln!("{mode} x{threads}{}: {} files in {:?}", if chunks { " chunks" } else { "" }, files.len(), t0.elapsed());
}
