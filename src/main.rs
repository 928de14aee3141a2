fn main() {
    std::process::exit(gardengate::cli::main());
}
