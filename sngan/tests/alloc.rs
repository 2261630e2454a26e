//! `sngan::alloc`: the option that [`sngan::alloc::keep_freed_memory`] sets is mimalloc's
//! purge delay. mimalloc initializes each option from the environment variable named after
//! it, so a child process started with `MIMALLOC_PURGE_DELAY=1234` must read 1234 at the index
//! `alloc.rs` uses; any other option would read its own default.

#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use std::process::Command;

/// Set in the child: the test prints the option it reads instead of checking.
const CHILD: &str = "SNGAN_ALLOC_TEST_CHILD";

#[test]
fn the_option_index_is_mimallocs_purge_delay() {
    if std::env::var_os(CHILD).is_some() {
        println!("purge_delay_ms={}", sngan::alloc::purge_delay_ms());
        return;
    }
    let out = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "the_option_index_is_mimallocs_purge_delay",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("MIMALLOC_PURGE_DELAY", "1234")
        .output()
        .expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(
        stdout.contains("purge_delay_ms=1234"),
        "with MIMALLOC_PURGE_DELAY=1234 the option at alloc.rs's index reads otherwise: {stdout}"
    );
}

#[test]
fn keep_freed_memory_switches_purging_off() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    sngan::alloc::keep_freed_memory();
    assert_eq!(sngan::alloc::purge_delay_ms(), -1);
}
