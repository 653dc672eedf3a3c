//! The `picoshare` binary: parse the configuration, then serve, back up or compact.

use std::process::ExitCode;

fn main() -> ExitCode {
    use picoshare::config::{Config, Parsed};
    let outcome = match Config::from_env_and_args(std::env::args().collect()) {
        Ok(Parsed::Run(config)) => picoshare::server::run(*config),
        Ok(Parsed::Backup(config, dest)) => {
            picoshare::maintenance::backup(&config, &dest).map_err(Into::into)
        }
        Ok(Parsed::Compact(config)) => picoshare::maintenance::compact(&config).map_err(Into::into),
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(reason) => {
            eprintln!("picoshare: {reason}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            eprintln!("picoshare: {fatal}");
            ExitCode::from(fatal.status())
        }
    }
}
