//! The `herald` binary: parses the command line and runs it (see the library).
use clap::Parser;
use herald::{Cli, run};

// Herald allocates per message (parsed headers, encoded responses, NOTIFY bodies) from many
// threads at once; perf showed glibc malloc/free among the top costs under load, and
// mimalloc's thread-local free lists make those calls cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long mimalloc keeps a freed page before giving it back to the OS, in ms (its
/// default is 1 000). A busy server frees and reuses memory at a steady rate: returned
/// pages come straight back as page faults, each zeroing a (huge) page. At 8 000
/// REGISTER/s, 20 s of load took 11 000 page faults with 1 s and 4 000 with 10 s.
/// `MIMALLOC_PURGE_DELAY` still overrides it.
const ALLOCATOR_PURGE_DELAY_MS: std::ffi::c_long = 10_000;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (include/mimalloc.h), which
/// libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Turns transparent huge pages off for this process (and the children it starts),
/// unless `HERALD_TRANSPARENT_HUGEPAGES=1`.
///
/// mimalloc asks for huge pages on its segments; the first touch of each one then
/// zeroes 2 MiB while the request that touched it waits, and purged memory comes back
/// the same way. In a VM each of those faults took milliseconds: at 7 000 MESSAGE
/// calls/s the SIPp p99 was 12 to 16 ms with them and 4 ms without, and CPU per
/// REGISTER did not rise (4 KiB faults are many more but each is cheap).
#[cfg(target_os = "linux")]
fn disable_transparent_hugepages() {
    if std::env::var_os("HERALD_TRANSPARENT_HUGEPAGES").is_some_and(|v| v == "1") {
        return;
    }
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and only sets a flag of
    // the calling process; no memory is passed to the kernel.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        eprintln!(
            "warning: cannot turn transparent huge pages off: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_hugepages() {}

fn main() -> std::process::ExitCode {
    disable_transparent_hugepages();
    // mimalloc read its options (environment included) at its first allocation, before
    // main, so a default set now would be ignored: set the value unless the environment
    // chose one.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a documented mimalloc option; it governs memory freed from now on
        // and does not touch any allocation.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ALLOCATOR_PURGE_DELAY_MS) };
    }
    let cli = Cli::parse();
    let threads = match herald::runtime_threads(&cli) {
        Ok(threads) => threads,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
