//! `certsafe log`: the journal of what was done in this home.

use clap::Args;

use super::{Context, Failure, print_json};
use crate::domain::fsutil::describe_io;
use crate::domain::journal::Journal;
use crate::domain::time::rfc3339;
use crate::t;

/// `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only the entries of this account (its ID, or the start of it).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints the journal, oldest first: one line per entry, or a JSON array.
pub fn run(ctx: &Context, args: &LogArgs) -> Result<u8, Failure> {
    let journal = Journal::from(&ctx.home);
    let wanted = args
        .account
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase);
    let entries: Vec<_> = journal
        .read()
        .map_err(|e| {
            Failure::op(t!(
                "journal.unreadable",
                path = journal.path().display().to_string(),
                reason = describe_io(&e)
            ))
        })?
        .into_iter()
        .filter(|e| {
            wanted
                .as_deref()
                .is_none_or(|w| e.event.account().is_some_and(|a| a.starts_with(w)))
        })
        .collect();
    if let (true, Some(w)) = (entries.is_empty(), wanted.as_deref()) {
        // Nothing for this ID: say so when no account has it either (a
        // typo), rather than "nothing yet". A removed account's entries
        // stay readable: they matched above.
        let store = crate::domain::store::Store::open_existing(&ctx.home.accounts_dir());
        store.get(w).map_err(|e| Failure::coded(&e, e.code()))?;
    }
    if args.json {
        print_json(&serde_json::Value::Array(
            entries
                .iter()
                .map(crate::domain::journal::Entry::to_json)
                .collect(),
        ));
        return Ok(0);
    }
    if entries.is_empty() {
        outln!("{}", t!("journal.empty"));
    }
    for e in &entries {
        outln!(
            "{}  {:<12}  {}",
            rfc3339(e.at),
            e.event.account().unwrap_or("-"),
            e.event
        );
    }
    Ok(0)
}

/// Said once on stderr when the journal cannot be written (the operation
/// itself went on).
pub fn failure_notice(e: &std::io::Error) {
    super::warn(t!("journal.write_failed", reason = describe_io(e)));
}
