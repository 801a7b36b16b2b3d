//! The README's Rust snippets, as a new user takes them: pasted into a fresh crate whose
//! `[dependencies]` are the README's Install block and nothing else, they build; and every
//! crate a snippet names is in that block.

use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = include_str!("../../README.md");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The fenced blocks of the README whose info string starts with `lang`, with that string.
fn blocks(lang: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = README.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        if info.split(',').next() == Some(lang) {
            found.push((info.to_owned(), body.join("\n") + "\n"));
        }
    }
    found
}

/// The Install block that lists "everything their snippets name": the `[dependencies]`
/// block with the most lines.
fn install_block() -> String {
    blocks("toml")
        .into_iter()
        .map(|(_, body)| body)
        .filter(|body| body.starts_with("[dependencies]"))
        .max_by_key(|body| body.lines().count())
        .expect("an Install block")
}

/// The crate names of the Install block, as Rust paths spell them.
fn installed() -> Vec<String> {
    install_block()
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, _)| name.trim().replace('-', "_"))
        .collect()
}

/// The snippets a user pastes: every `rust` block but those marked `ignore`.
fn snippets() -> Vec<String> {
    blocks("rust")
        .into_iter()
        .filter(|(info, _)| !info.contains("ignore"))
        .map(|(_, body)| body)
        .collect()
}

#[test]
fn every_crate_a_snippet_uses_is_in_the_install_block() {
    let installed = installed();
    assert!(installed.contains(&"etag_runtime".to_owned()));
    let snippets = snippets();
    assert!(
        snippets.len() >= 5,
        "only {} snippets found",
        snippets.len()
    );
    for (i, snippet) in snippets.iter().enumerate() {
        // The root of every `use` (the build below also catches paths written in full).
        for line in snippet.lines() {
            let Some((root, _)) = line
                .trim()
                .strip_prefix("use ")
                .and_then(|p| p.split_once("::"))
            else {
                continue;
            };
            let local = ["std", "core", "alloc", "crate", "self", "super"];
            if local.contains(&root) || snippet.contains(&format!("mod {root}")) {
                continue;
            }
            assert!(
                installed.iter().any(|name| name == root),
                "snippet {i} uses `{root}`, which the Install block does not list"
            );
        }
    }
}

/// Builds a fresh crate with the Install block as its dependencies (etag-runtime from
/// this checkout) and each snippet as a binary, resolved from the registry as a user's
/// would be. Its target directory is kept under the workspace's, so a second run rebuilds
/// only the snippets.
#[test]
fn the_snippets_build_in_a_fresh_crate_with_the_install_block_alone() {
    let root = workspace();
    let dir = root.join("target").join("readme-snippets");
    let src = dir.join("src").join("bin");
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(&src).unwrap();
    let runtime = root.join("etag-runtime");
    let dependencies: String = install_block()
        .lines()
        .map(
            |line| match line.strip_prefix("etag-runtime = { version = \"0.1\", ") {
                Some(rest) => format!("etag-runtime = {{ path = {:?}, {rest}\n", runtime.display()),
                None => format!("{line}\n"),
            },
        )
        .collect();
    assert!(
        dependencies.contains("path = "),
        "the Install block names etag-runtime"
    );
    let manifest = format!(
        "[package]\nname = \"readme-snippets\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n{dependencies}"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    for (i, snippet) in snippets().iter().enumerate() {
        assert!(
            snippet.contains("fn main"),
            "snippet {i} is not a whole program"
        );
        std::fs::write(src.join(format!("snippet_{i}.rs")), snippet).unwrap();
    }
    let output = Command::new(env!("CARGO"))
        .args(["build", "--bins", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the README's snippets do not build with the Install block alone:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
