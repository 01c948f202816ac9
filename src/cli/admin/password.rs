//! Where a new password comes from: a prompt without echo, standard input, or (for old
//! scripts) an argument.

use std::io::{BufRead, IsTerminal};

use clap::Args;

use crate::cli::CliError;

#[derive(Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password")]
    password_stdin: bool,
    /// The password itself. Visible to every user of this machine in `ps`: prefer the
    /// prompt or --password-stdin.
    #[arg(long)]
    password: Option<String>,
}

impl PasswordArgs {
    /// The password; without a flag, asked for twice on the terminal without echo.
    pub fn read(self, whose: &str) -> Result<String, CliError> {
        if let Some(password) = self.password {
            return Ok(password);
        }
        if self.password_stdin {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::new(
                "invalid",
                "no password given: use --password-stdin, or run in a terminal to be asked",
            ));
        }
        let first = rpassword::prompt_password(format!("New password for {whose}: "))?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            return Err(CliError::new("invalid", "the two passwords differ"));
        }
        Ok(first)
    }
}
