//! `cargo xtask`: prepares the dfdx source tree the workspace builds against, then runs cargo.
//!
//! dfdx 0.13.0, the newest dfdx release, compiles its convolution and pooling tensor ops only
//! under a `nightly` cfg whose `generic_const_exprs` code no longer builds on any current
//! compiler. Its run-time-size (`usize`) convolutions work on stable once a few `#[cfg]` lines
//! move (see `dfdx-0.13.0-stable.patch`). This program:
//!
//! 1. finds `dfdx-0.13.0.crate` in cargo's registry cache (running `cargo fetch` on a throw-away
//!    manifest if it is not there yet) and checks its SHA-256 against the crates.io checksum;
//! 2. unpacks it to `.prepared/dfdx-0.13.0/` (git-ignored; no dfdx source is committed) and
//!    applies the patch with `git apply`;
//! 3. then, unless the command was just `prepare`, runs `cargo <args>` in the workspace root.
//!
//! The workspace's `[patch.crates-io]` points dfdx at that directory, so CPU and CUDA builds use
//! the same prepared tree. A marker file records the crate and patch checksums; a changed patch
//! re-prepares from scratch.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use sha2::{Digest, Sha256};

const DFDX: &str = "dfdx-0.13.0";
/// crates.io's checksum of dfdx 0.13.0 (the `checksum` of its Cargo.lock entry).
const DFDX_SHA256: &str = "c6dbcb8a7363d8b434ca20bd3808ab9f6ee77e6916ca1d511f8e3c725d0b340e";
const PATCH: &[u8] = include_bytes!("../dfdx-0.13.0-stable.patch");
const MARKER: &str = ".sngan-prepared";

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    if let Err(e) = prepare(&root) {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    match args.first().map(String::as_str) {
        None | Some("prepare") => ExitCode::SUCCESS,
        Some("-h" | "--help") => {
            println!(
                "usage: cargo xtask prepare | cargo xtask <cargo arguments>\n\n{}",
                DOC
            );
            ExitCode::SUCCESS
        }
        Some(_) => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            match Command::new(cargo).args(&args).current_dir(&root).status() {
                Ok(s) if s.success() => ExitCode::SUCCESS,
                Ok(s) => ExitCode::from(s.code().unwrap_or(1).clamp(1, 255) as u8),
                Err(e) => {
                    eprintln!("xtask: could not run cargo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

const DOC: &str =
    "Prepares .prepared/dfdx-0.13.0 (dfdx 0.13.0 from crates.io, checksum-verified, with \
xtask/dfdx-0.13.0-stable.patch applied) and then runs cargo with the given arguments.";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn prepare(root: &Path) -> Result<()> {
    let dest = root.join(".prepared").join(DFDX);
    let want_marker = format!("{DFDX_SHA256} {}\n", sha256_hex(PATCH));
    if fs::read_to_string(dest.join(MARKER)).ok().as_deref() == Some(want_marker.as_str()) {
        return Ok(());
    }
    let crate_bytes = find_verified_crate(root)?;
    eprintln!(
        "xtask: preparing {} (dfdx 0.13.0 + {} byte patch)",
        dest.display(),
        PATCH.len()
    );

    let staging = root
        .join(".prepared")
        .join(format!(".staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| format!("create {}: {e}", staging.display()))?;
    let result = (|| {
        tar::Archive::new(flate2::read::GzDecoder::new(&crate_bytes[..]))
            .unpack(&staging)
            .map_err(|e| format!("unpack {DFDX}.crate: {e}"))?;
        let tree = staging.join(DFDX);
        let patch_file = staging.join("stable.patch");
        fs::write(&patch_file, PATCH).map_err(|e| format!("write patch: {e}"))?;
        // GIT_CEILING_DIRECTORIES keeps git from finding this repository above the staging
        // directory, so `git apply` patches plain files relative to the dfdx tree.
        let status = Command::new("git")
            .args(["apply", "-p0", "--whitespace=nowarn"])
            .arg(&patch_file)
            .current_dir(&tree)
            .env("GIT_CEILING_DIRECTORIES", &staging)
            .status()
            .map_err(|e| format!("run git apply (is git installed?): {e}"))?;
        if !status.success() {
            return Err(format!(
                "git apply of xtask/dfdx-0.13.0-stable.patch to {} failed",
                tree.display()
            ));
        }
        fs::write(tree.join(MARKER), &want_marker).map_err(|e| format!("write marker: {e}"))?;
        let _ = fs::remove_dir_all(&dest);
        fs::rename(&tree, &dest)
            .map_err(|e| format!("move {} to {}: {e}", tree.display(), dest.display()))
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

/// The bytes of `dfdx-0.13.0.crate` from cargo's registry cache, fetched if absent, verified.
fn find_verified_crate(root: &Path) -> Result<Vec<u8>> {
    if let Some(bytes) = cached_crate()? {
        return Ok(bytes);
    }
    fetch(root)?;
    cached_crate()?.ok_or_else(|| {
        format!(
            "{DFDX}.crate is not in cargo's registry cache ({}) even after `cargo fetch`",
            cargo_home().join("registry/cache").display()
        )
    })
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// Looks in every registry's cache directory; a file whose checksum does not match is an error
/// naming it (a corrupt or substituted download must not be built).
fn cached_crate() -> Result<Option<Vec<u8>>> {
    let cache = cargo_home().join("registry").join("cache");
    let Ok(registries) = fs::read_dir(&cache) else {
        return Ok(None);
    };
    for reg in registries.flatten() {
        let path = reg.path().join(format!("{DFDX}.crate"));
        let Ok(mut f) = fs::File::open(&path) else {
            continue;
        };
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| format!("read {}: {e}", path.display()))?;
        let found = sha256_hex(&bytes);
        if found != DFDX_SHA256 {
            return Err(format!(
                "{}: SHA-256 is {found}, expected crates.io's {DFDX_SHA256}; delete the file and retry",
                path.display()
            ));
        }
        return Ok(Some(bytes));
    }
    Ok(None)
}

/// `cargo fetch` of a throw-away manifest that depends on dfdx =0.13.0 (the workspace itself
/// cannot be fetched before its [patch] directory exists).
fn fetch(root: &Path) -> Result<()> {
    let dir = root.join("target").join("xtask-fetch");
    fs::create_dir_all(dir.join("src")).map_err(|e| format!("create {}: {e}", dir.display()))?;
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"xtask-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\
         [workspace]\n[dependencies]\ndfdx = { version = \"=0.13.0\", default-features = false }\n",
    )
    .map_err(|e| format!("write fetch manifest: {e}"))?;
    fs::write(dir.join("src").join("lib.rs"), "").map_err(|e| format!("write fetch lib: {e}"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["fetch", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .status()
        .map_err(|e| format!("run cargo fetch: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("`cargo fetch` of dfdx 0.13.0 failed (is crates.io reachable?)".into())
    }
}
