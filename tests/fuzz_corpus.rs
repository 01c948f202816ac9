//! Replays the fuzz corpus kept in `fuzz/corpus/` through the same entry points the
//! cargo-fuzz targets call, on stable Rust: none may panic.

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 5,
        "{target}: the corpus is kept in the repository"
    );
    inputs
}

#[test]
fn the_signature_header_corpus_replays() {
    for (name, data) in corpus("signature_header") {
        eprintln!("signature_header/{name}");
        support_access::fuzzing::signature_header(&data);
    }
    // The corpus holds a header that parses, so the target reaches past the prefix.
    let valid = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/signature_header/valid"),
    )
    .unwrap();
    let parsed = support_access::auth::sdk_signature::parse_authorization(
        std::str::from_utf8(&valid).unwrap(),
    );
    assert!(parsed.is_ok(), "{parsed:?}");
}

#[test]
fn the_json_body_corpus_replays() {
    for (name, data) in corpus("json_body") {
        eprintln!("json_body/{name}");
        support_access::fuzzing::json_body(&data);
    }
}
