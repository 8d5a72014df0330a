//! Getting a password from standard input, a file or the terminal. Never
//! from argv.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use zeroize::Zeroizing;

use super::{Failure, PasswordArgs};
use crate::domain::secret::{
    Password, PasswordError, check_new_password, strength, strength_words,
};

/// How many times a terminal user may retype a wrong password.
pub const TRIES: usize = 3;

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// First line of stdin.
    Stdin,
    /// First line of a file.
    File(std::path::PathBuf),
    /// Ask on the terminal.
    Prompt,
}

impl Source {
    /// From the command-line flags.
    pub fn from_args(args: &PasswordArgs) -> Self {
        if args.password_stdin {
            Self::Stdin
        } else if let Some(f) = &args.password_file {
            Self::File(f.clone())
        } else {
            Self::Prompt
        }
    }

    /// Whether a wrong password can be typed again.
    pub fn can_retry(&self) -> bool {
        *self == Self::Prompt
    }
}

fn first_line(mut reader: impl BufRead, what: &str) -> Result<Zeroizing<String>, Failure> {
    let mut line = Zeroizing::new(String::with_capacity(1024));
    let n = reader
        .read_line(&mut line)
        .map_err(|e| Failure::op(format!("cannot read the password from {what}: {e}")))?;
    if n == 0 {
        return Err(Failure::op(format!(
            "{what} is closed or empty: give the password on its first line"
        )));
    }
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Ok(line)
}

fn checked(text: &str) -> Result<Password, Failure> {
    Password::new(text.to_string()).map_err(Failure::op)
}

fn prompt(label: &str) -> Result<Zeroizing<String>, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::op(
            "a password is needed and there is no terminal to ask it on: use --password-stdin or --password-file FILE",
        ));
    }
    rpassword::prompt_password(label)
        .map(Zeroizing::new)
        .map_err(|e| Failure::op(format!("cannot read the password from the terminal: {e}")))
}

/// Reads a password to open something.
pub fn read(source: &Source, label: &str) -> Result<Password, Failure> {
    let text = match source {
        Source::Stdin => first_line(std::io::stdin().lock(), "standard input")?,
        Source::File(path) => read_file(path)?,
        Source::Prompt => prompt(label)?,
    };
    checked(&text)
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, Failure> {
    let file = std::fs::File::open(path).map_err(|e| {
        Failure::op(format!(
            "cannot read the password file {}: {}",
            path.display(),
            crate::domain::fsutil::describe_io(&e)
        ))
    })?;
    first_line(
        std::io::BufReader::new(file),
        &format!("the password file {}", path.display()),
    )
}

/// Reads a new backup password: twice on a terminal, once from stdin or a
/// file; checks strength against the holder's words; warns for non-ASCII.
pub fn read_new(source: &Source, known_words: &[&str]) -> Result<Password, Failure> {
    let (first, second) = match source {
        Source::Prompt => {
            eprintln!(
                "Choose the backup password. Without it the backup cannot be opened: \
                 if it is lost, the backup is useless. Write it down and keep it apart from the drive."
            );
            let mut tries = 0;
            loop {
                tries += 1;
                let p = checked(&prompt("Backup password: ")?)?;
                let s = strength(&p, known_words);
                if !s.acceptable() {
                    let msg = PasswordError::TooWeak {
                        score: s.score,
                        advice: s.advice(),
                    }
                    .to_string();
                    if tries >= TRIES {
                        return Err(Failure::op(msg));
                    }
                    eprintln!("certsafe: {msg}");
                    continue;
                }
                eprintln!("Strength: {}.", strength_words(s.score));
                let c = checked(&prompt("Type it again: ")?)?;
                if p.matches(&c) {
                    break (p, c);
                }
                if tries >= TRIES {
                    return Err(Failure::op(PasswordError::Mismatch));
                }
                eprintln!("certsafe: {}", PasswordError::Mismatch);
            }
        }
        other => {
            let p = read(other, "")?;
            let c = Password::new(p.expose().to_string()).map_err(Failure::op)?;
            (p, c)
        }
    };
    let password = check_new_password(first, &second, known_words).map_err(Failure::op)?;
    if !password.is_ascii() {
        super::warn(
            "the password has non-ASCII characters: some software cannot open such files \
             (Java keytool, older Windows and macOS); prefer an ASCII password if the file must go there",
        );
    }
    Ok(password)
}
