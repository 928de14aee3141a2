#[global_allocator]
static ALLOC: gardengate::alloc::HugePages = gardengate::alloc::HugePages;

fn main() {
    std::process::exit(gardengate::cli::main());
}
