#[global_allocator]
static ALLOC: gardengate::alloc::HugePages = gardengate::alloc::HugePages;

fn main() {
    // Stop quietly when the reader of standard output goes away (`gardengate bench | head`),
    // as command-line tools do, instead of panicking on the failed print.
    #[cfg(target_os = "linux")]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(gardengate::cli::main());
}
