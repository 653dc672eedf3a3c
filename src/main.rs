//! The `picoshare` binary: parse the configuration, then hand over to [`picoshare::server`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match picoshare::config::Config::from_env_and_args(std::env::args().collect()) {
        Ok(picoshare::config::Parsed::Run(config)) => config,
        Ok(picoshare::config::Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(reason) => {
            eprintln!("picoshare: {reason}");
            return ExitCode::from(2);
        }
    };
    match picoshare::server::run(*config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("picoshare: {reason}");
            ExitCode::FAILURE
        }
    }
}
