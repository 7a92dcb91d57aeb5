//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the checks of its target
//! (`iogate::fuzzing`), on stable Rust: every input the fuzzer kept keeps passing on every test run.

use iogate::fuzzing::TARGETS;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_corpus_input_passes_its_target_checks() {
    let mut failures = Vec::new();
    let mut inputs = 0;
    for (name, check) in TARGETS {
        let files = entries(&fuzz_dir().join("corpus").join(name));
        assert!(!files.is_empty(), "fuzz/corpus/{name} is empty");
        for file in files {
            let data = std::fs::read(&file).expect("a corpus file");
            inputs += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "failing corpus inputs: {failures:#?}");
    assert!(inputs > TARGETS.len());
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_target() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            source.contains(&format!("iogate::fuzzing::{name}::check(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call its check"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
    for dir in entries(&fuzz_dir().join("corpus")) {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            TARGETS.iter().any(|(target, _)| *target == name),
            "fuzz/corpus/{name} belongs to no target"
        );
    }
}
