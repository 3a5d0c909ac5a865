//! `cfimap`: ColdFusion's `<cfimap>` tag on the command line.
//!
//! `cfimap <action> [attributes]` — see `cfimap --help`. The work is done by
//! the `cfimap-host` library; this binary parses the command line, prints the
//! results and maps errors to exit statuses (see the `cli` module).

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
