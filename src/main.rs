fn main() -> std::process::ExitCode {
    support_access::cli::run()
}
