//! `certsafe drives`, `backup`, `verify`, `restore`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::account::{field, pad};
use super::password::{self, Source};
use super::{Context, Failure, PasswordArgs, print_json, warn};
use crate::domain::backup::{self, Step};
use crate::domain::drives::{self, SystemDrives};
use crate::domain::p12::{self, P12Error, Profile};
use crate::domain::restore::{self, RestoreError, RestoreOptions};
use crate::domain::time::{now, rfc3339};
use crate::t;

/// `drives`.
#[derive(Debug, Args)]
pub struct DrivesArgs {
    /// Show every writable volume, not only removable drives.
    #[arg(long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The account's ID.
    pub id: String,
    /// A folder (the default file name is used) or a file path ending in .p12 or .pfx.
    #[arg(long, value_name = "PATH")]
    pub to: PathBuf,
    /// modern (default: AES-256, for current software) or compat (3DES, for Windows Server 2016, macOS Keychain, old Java).
    #[arg(long, value_parser = ["modern", "compat"])]
    pub profile: Option<String>,
    /// Replace an existing file of the same name.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The .p12/.pfx file.
    pub file: PathBuf,
    /// Also check it holds this account's certificate and key.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Which identity to describe when the file holds several (1, 2, ...; default 1).
    #[arg(long, value_name = "N")]
    pub identity: Option<usize>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The .p12/.pfx file.
    pub file: PathBuf,
    /// Restore into this existing account.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Label of the new account (default: the file's friendlyName).
    #[arg(long)]
    pub label: Option<String>,
    /// Allow replacing an account's key (the old identity is archived).
    #[arg(long)]
    pub replace: bool,
    /// Which identity to restore when the file holds several (1, 2, ...; see `verify`).
    #[arg(long, value_name = "N")]
    pub identity: Option<usize>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `certsafe drives`.
pub fn drives(args: &DrivesArgs) -> u8 {
    let list = drives::list(&SystemDrives, args.all);
    if args.json {
        print_json(&serde_json::to_value(&list).unwrap_or_default());
        return 0;
    }
    if list.is_empty() {
        errln!("{}", t!("drives.none"));
        return 0;
    }
    outln!(
        "{}  {}  {}  {}  {}",
        pad(&t!("show.head_mount"), 28),
        pad(&t!("show.head_label").to_string(), 14),
        pad(&t!("show.head_fs"), 8),
        pad(&t!("show.head_free"), 10),
        t!("show.head_note")
    );
    for d in &list {
        let mut notes = Vec::new();
        if d.removable {
            notes.push(t!("drives.removable"));
        }
        if d.read_only {
            notes.push(t!("drives.read_only"));
        }
        outln!(
            "{}  {}  {}  {:>10}  {}",
            pad(&d.mount_point.display().to_string(), 28),
            pad(&d.display_name(), 14),
            pad(&d.file_system, 8),
            drives::human_bytes(d.available_bytes),
            notes.join(", ")
        );
    }
    0
}

/// `certsafe backup`.
pub fn backup(ctx: &Context, args: &BackupArgs) -> Result<u8, Failure> {
    let store = ctx.store()?;
    let account = store.get(&args.id)?;
    let profile = args
        .profile
        .as_deref()
        .and_then(Profile::parse)
        .unwrap_or(ctx.config.backup.default_profile);
    let now = now();
    let probe = if args.to.is_dir() {
        args.to.clone()
    } else {
        args.to.parent().map(PathBuf::from).unwrap_or_default()
    };
    let drive = drives::drive_of(&SystemDrives, &probe);
    // Everything about the destination is checked before the password is asked.
    let dest =
        backup::resolve_destination(&args.to, &account.meta.label, now, args.overwrite, drive)?;
    for w in backup::warnings_for(&account, &dest, &store, now) {
        warn(w);
    }
    let words = account.known_words();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let password = password::read_new(&Source::from_args(&args.password), &words)?;
    let interactive = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |step: Step| {
        if interactive {
            errln!("  ✓ {}", backup::step_words(step));
        }
    };
    let request = backup::Request {
        store: &store,
        account: &account,
        dest: &dest,
        password: &password,
        profile,
        overwrite: args.overwrite,
        now,
    };
    let outcome = backup::run(&request, &mut progress)?;
    if args.json {
        print_json(&json!({
            "path": outcome.path,
            "fingerprint": outcome.fingerprint,
            "profile": outcome.profile,
            "verified": outcome.verified,
            "certificates": outcome.certificates,
            "identities": outcome.identities,
            "bytes": outcome.bytes,
            "checks": outcome.checks,
            "warnings": outcome.warnings.iter().map(|w| json!({"code": w, "message": w.to_string()})).collect::<Vec<_>>(),
            "account": account.meta.id,
        }));
    } else {
        outln!("{}", outcome.path.display());
        if dest.drive.as_ref().is_some_and(|d| d.removable) {
            errln!("{}", t!("backup.done_eject"));
        }
    }
    Ok(0)
}

/// A failure to open a file, with the machine code of its cause.
fn open_failure(path: &str, source: P12Error) -> Failure {
    let kind = source.code();
    Failure::coded(
        RestoreError::Open {
            path: path.to_string(),
            source,
        },
        kind,
    )
}

/// Opens a file, asking again on a terminal after a wrong password, and
/// takes identity `identity` (1-based; `None`: the file must hold one).
pub fn open_with_retry(
    path: &std::path::Path,
    source: &Source,
    identity: Option<usize>,
) -> Result<p12::Opened, Failure> {
    open_with_retry_as(path, source, |bytes, pw| {
        p12::open_identity(bytes, pw, identity)
    })
}

/// Opens a file with `open`, asking again on a terminal after a wrong password.
fn open_with_retry_as<T>(
    path: &std::path::Path,
    source: &Source,
    open: impl Fn(&[u8], &crate::domain::secret::Password) -> Result<T, P12Error>,
) -> Result<T, Failure> {
    let bytes = restore::read_file(path)?;
    let shown = path.display().to_string();
    // Structure and priced work first: a file that is not PKCS#12, or asks
    // for too much work, fails before any password is asked.
    p12::inspect(&bytes)
        .and_then(|_| p12::check(&bytes))
        .map_err(|source| open_failure(&shown, source))?;
    let mut tries = 0;
    loop {
        tries += 1;
        let pw = password::read(source, &t!("password.prompt_open", path = shown))?;
        match open(&bytes, &pw) {
            Ok(opened) => return Ok(opened),
            Err(P12Error::WrongPassword) if source.can_retry() && tries < password::TRIES => {
                errln!("certsafe: {}", t!("password.wrong_retry"));
            }
            Err(source) => return Err(open_failure(&shown, source)),
        }
    }
}

/// `certsafe verify`.
pub fn verify(ctx: &Context, args: &VerifyArgs) -> Result<u8, Failure> {
    let account = match &args.account {
        Some(id) => Some(ctx.store_existing().get(id)?),
        None => None,
    };
    let opened = open_with_retry(
        &args.file,
        &Source::from_args(&args.password),
        Some(args.identity.unwrap_or(1)),
    )?;
    let v = restore::describe(&opened, account.as_ref())?;
    if v.no_mac {
        warn(t!("p12.no_mac"));
    }
    if args.json {
        let mut value = serde_json::to_value(&v).unwrap_or_default();
        value["path"] = json!(args.file);
        value["identity"] = json!(opened.index);
        value["identities"] = json!(opened.identities);
        print_json(&value);
    } else {
        let enc = |e: &Option<p12::Encryption>| {
            e.as_ref().map_or_else(
                || t!("show.none"),
                |e| {
                    t!(
                        "show.encryption",
                        scheme = e.scheme,
                        cipher = e.cipher,
                        kdf = e.kdf,
                        iterations = e.iterations
                    )
                },
            )
        };
        field("show.file", args.file.display());
        if opened.identities.len() > 1 {
            for s in &opened.identities {
                field(
                    "show.identity",
                    format!(
                        "{}{} {} — {} ({})",
                        if s.index == opened.index { "* " } else { "  " },
                        s.index,
                        crate::domain::text::visible(s.friendly_name.as_deref().unwrap_or("-")),
                        crate::domain::text::visible(&s.subject),
                        s.fingerprint
                    ),
                );
            }
        }
        field("show.certificate", &v.certificate.subject);
        field("show.issuer", &v.certificate.issuer);
        field(
            "show.valid",
            t!(
                "show.valid_range",
                from = rfc3339(v.certificate.not_before),
                to = rfc3339(v.certificate.not_after)
            ),
        );
        field("show.fingerprint", &v.fingerprint);
        field("show.name", v.friendly_name.as_deref().unwrap_or("-"));
        let key_word = if v.key_matches {
            t!("show.key_matches")
        } else {
            t!("show.key_differs")
        };
        field(
            "show.key",
            format!("{} ({key_word})", v.certificate.key_type),
        );
        let complete = if v.chain_complete {
            t!("show.complete")
        } else {
            t!("show.incomplete")
        };
        field(
            "show.chain",
            format!(
                "{}, {complete}",
                t!("show.certificates", count = v.chain.len())
            ),
        );
        field("show.key_cipher", enc(&v.layout.key_encryption));
        field("show.cert_cipher", enc(&v.layout.cert_encryption));
        field(
            "show.mac",
            v.layout.mac.as_ref().map_or_else(
                || t!("show.none"),
                |m| {
                    t!(
                        "show.mac_line",
                        digest = m.digest,
                        iterations = m.iterations
                    )
                },
            ),
        );
        if let Some(m) = v.matches_account {
            field(
                "show.account",
                if m {
                    t!("show.account_same")
                } else {
                    t!("show.account_different")
                },
            );
        }
    }
    if !v.key_matches {
        return Err(Failure::op(t!("cli.key_mismatch_file")));
    }
    if v.matches_account == Some(false) {
        return Err(Failure::op(t!(
            "cli.not_this_account",
            id = args.account.as_deref().unwrap_or_default()
        )));
    }
    Ok(0)
}

/// `certsafe restore`.
pub fn restore(ctx: &Context, args: &RestoreArgs) -> Result<u8, Failure> {
    // A bad label is told before any password is asked.
    if let Some(label) = &args.label {
        crate::domain::store::check_label(label)?;
    }
    let options = RestoreOptions {
        account: args.account.clone(),
        label: args.label.clone(),
        replace: args.replace,
    };
    let source = Source::from_args(&args.password);
    // Without --identity every identity is opened: one holder's history
    // restores as one account; unrelated identities need --identity N.
    let restored = if args.identity.is_none() {
        let all = open_with_retry_as(&args.file, &source, crate::domain::history::open_all)?;
        if all.layout.mac.is_none() {
            warn(t!("p12.no_mac"));
        }
        if all.is_history() {
            // On an empty machine the store is created here, after the file is read.
            let store = ctx.store()?;
            restore::restore_history(&store, &args.file, all, &options, now())?
        } else {
            let opened = all
                .into_single()
                .map_err(|e| open_failure(&args.file.display().to_string(), e))?;
            let store = ctx.store()?;
            restore::restore(&store, &args.file, &opened, &options, now())?
        }
    } else {
        let opened = open_with_retry(&args.file, &source, args.identity)?;
        if opened.layout.mac.is_none() {
            warn(t!("p12.no_mac"));
        }
        let store = ctx.store()?;
        restore::restore(&store, &args.file, &opened, &options, now())?
    };
    if restored.expired {
        warn(t!("restore.expired"));
    }
    if args.json {
        print_json(&serde_json::to_value(&restored).unwrap_or_default());
    } else {
        outln!("{}", restored.id);
        let key = format!("restore.{}", restored.action);
        errln!("{}", t!(&key, label = restored.label, id = restored.id));
    }
    Ok(0)
}
