//! Getting a password from standard input, a file or the terminal. Never
//! from argv.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use zeroize::Zeroizing;

use super::{Failure, PasswordArgs};
use crate::domain::fsutil::{MAX_PASSWORD_FILE, describe_io, read_limited};
use crate::domain::secret::{
    Password, PasswordError, check_new_password, strength, strength_words,
};
use crate::t;

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
    /// `--no-password`: the empty password, only to open a file.
    Empty,
}

impl Source {
    /// From the command-line flags.
    pub fn from_args(args: &PasswordArgs) -> Self {
        if args.no_password {
            Self::Empty
        } else if args.password_stdin {
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
        .map_err(|e| Failure::op(t!("password.stdin_error", what = what, reason = e)))?;
    if n == 0 {
        return Err(Failure::op(t!("password.stdin_closed", what = what)));
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
        return Err(Failure::op(t!("password.no_terminal")));
    }
    rpassword::prompt_password(label)
        .map(Zeroizing::new)
        .map_err(|e| Failure::op(t!("password.terminal_error", reason = e)))
}

/// Reads a password to open something. An empty line (or
/// `--no-password`) is the empty password: files made by other tools may
/// have one.
pub fn read(source: &Source, label: &str) -> Result<Password, Failure> {
    let text = match source {
        Source::Stdin => first_line(std::io::stdin().lock(), &t!("password.standard_input"))?,
        Source::File(path) => read_file(path)?,
        Source::Prompt => prompt(label)?,
        Source::Empty => return Ok(Password::empty_for_reading()),
    };
    if text.is_empty() {
        return Ok(Password::empty_for_reading());
    }
    checked(&text)
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, Failure> {
    let shown = path.display().to_string();
    let bytes = Zeroizing::new(read_limited(path, MAX_PASSWORD_FILE).map_err(|e| {
        Failure::op(t!(
            "password.file_error",
            path = shown,
            reason = describe_io(&e)
        ))
    })?);
    first_line(
        bytes.as_slice(),
        &t!("password.password_file", path = shown),
    )
}

/// Reads a new backup password: twice on a terminal, once from stdin or a
/// file; checks strength against the holder's words; warns for non-ASCII.
pub fn read_new(source: &Source, known_words: &[&str]) -> Result<Password, Failure> {
    let (first, second) = if *source == Source::Prompt {
        errln!("{}", t!("password.choose"));
        let mut tries = 0;
        loop {
            tries += 1;
            let p = checked(&prompt(&t!("password.prompt_new"))?)?;
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
                errln!("certsafe: {msg}");
                continue;
            }
            errln!(
                "{}",
                t!("password.strength_is", strength = strength_words(s.score))
            );
            let c = checked(&prompt(&t!("password.prompt_again"))?)?;
            if p.matches(&c) {
                break (p, c);
            }
            if tries >= TRIES {
                return Err(Failure::op(PasswordError::Mismatch));
            }
            errln!("certsafe: {}", PasswordError::Mismatch);
        }
    } else {
        let p = read(source, "")?;
        if p.expose().is_empty() {
            // A new backup never has an empty password.
            return Err(Failure::op(PasswordError::Empty));
        }
        let c = Password::new(p.expose().to_string()).map_err(Failure::op)?;
        (p, c)
    };
    let password = check_new_password(first, &second, known_words).map_err(Failure::op)?;
    if !password.is_ascii() {
        super::warn(t!("password.non_ascii"));
    }
    Ok(password)
}
