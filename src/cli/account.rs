//! `certsafe account ...`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use super::password::{self, Source};
use super::{Context, Failure, PasswordArgs, print_json, warn};
use crate::domain::identity::{self, Identity};
use crate::domain::store::{Account, identity_from_files};
use crate::domain::text::{Shown, visible};
use crate::domain::time::{now, rfc3339};
use crate::t;

/// Account subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List the accounts with their backup state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import an identity from a .p12/.pfx file, or certificate + key files.
    Import(ImportArgs),
    /// Show one account.
    Show {
        /// The account's ID (or a unique prefix).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give an account another label (the friendlyName of its next backups).
    Rename {
        /// The account's ID (or a unique prefix).
        id: String,
        /// The new label.
        label: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete one earlier identity of an account (mail encrypted to it becomes unreadable).
    Forget {
        /// The account's ID (or a unique prefix).
        id: String,
        /// The earlier identity's fingerprint (8 characters or more).
        fingerprint: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and delete its private key.
    Remove {
        /// The account's ID.
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// `account import`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["p12", "cert"]))]
pub struct ImportArgs {
    /// A PKCS#12 file (.p12 / .pfx) holding certificate, chain and key.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cert", "key", "chain"])]
    pub p12: Option<PathBuf>,
    /// The certificate (PEM or DER; a PEM file may hold the chain too).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; may be encrypted).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Issuer certificates (repeatable; PEM bundles accepted).
    #[arg(long, value_name = "FILE")]
    pub chain: Vec<PathBuf>,
    /// Which identity of the PKCS#12 file to import when it holds several (1, 2, ...).
    #[arg(long, value_name = "N", requires = "p12")]
    pub identity: Option<usize>,
    /// A name for the account (default: the file's friendlyName or the certificate's CN).
    #[arg(long)]
    pub label: Option<String>,
    /// The account's e-mail address (default: from the certificate).
    #[arg(long)]
    pub email: Option<String>,
    /// The identity renews this account: it becomes current, the old one is kept as an earlier identity.
    #[arg(long, value_name = "ID", conflicts_with_all = ["label", "email"])]
    pub renewal_of: Option<String>,
    /// With --renewal-of: accept a certificate whose subject and e-mail differ from the account's (a change of name).
    #[arg(long, requires = "renewal_of")]
    pub any_holder: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Runs an account subcommand.
pub fn run(ctx: &Context, cmd: AccountCommand) -> Result<u8, Failure> {
    match cmd {
        AccountCommand::List { json } => list(ctx, json),
        AccountCommand::Import(args) => import(ctx, &args),
        AccountCommand::Show { id, json } => show(ctx, &id, json),
        AccountCommand::Rename { id, label, json } => rename(ctx, &id, &label, json),
        AccountCommand::Forget {
            id,
            fingerprint,
            yes,
            json,
        } => forget(ctx, &id, &fingerprint, yes, json),
        AccountCommand::Remove { id, yes } => remove(ctx, &id, yes),
    }
}

/// The JSON of an account, shared by list and show.
pub fn account_json(ctx: &Context, account: &Account) -> Result<serde_json::Value, Failure> {
    let info = account.info()?;
    let t = now();
    let state = account.backup_state(t, ctx.config.backup.max_age_days);
    let last = account.last_backup();
    Ok(json!({
        "id": account.meta.id,
        "label": account.meta.label,
        "email": account.meta.email,
        "fingerprint": account.meta.fingerprint,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial": info.serial,
        "key_type": info.key_type,
        "not_before": rfc3339(info.not_before),
        "not_after": rfc3339(info.not_after),
        "expired": info.expired_at(t),
        "backup_state": state.word(),
        "last_backup": last.map(|b| json!({
            "at": rfc3339(b.at), "path": b.path, "profile": b.profile, "origin": b.origin,
        })),
        "identities": identities_json(account, t)?,
    }))
}

/// Every identity of the account, newest first (`identities`).
fn identities_json(
    account: &Account,
    now: time::OffsetDateTime,
) -> Result<serde_json::Value, Failure> {
    Ok(account
        .identities(now)?
        .iter()
        .map(|e| {
            json!({
                "fingerprint": e.info.fingerprint,
                "subject": e.info.subject,
                "not_before": rfc3339(e.info.not_before),
                "not_after": rfc3339(e.info.not_after),
                "current": e.current,
                "superseded_at": e.superseded_at.map(rfc3339),
                "expired": e.expired,
            })
        })
        .collect())
}

fn list(ctx: &Context, json: bool) -> Result<u8, Failure> {
    let accounts = ctx.store_existing().list()?;
    if json {
        let items = accounts
            .iter()
            .map(|a| account_json(ctx, a))
            .collect::<Result<Vec<_>, _>>()?;
        print_json(&serde_json::Value::Array(items));
        return Ok(0);
    }
    if accounts.is_empty() {
        errln!("{}", t!("cli.no_account_yet"));
        return Ok(0);
    }
    outln!(
        "{}  {}  {}  {}",
        pad(&t!("show.head_id"), 12),
        pad(&t!("show.head_label"), 30),
        pad(&t!("show.head_expires"), 10),
        t!("show.head_backup")
    );
    let now = now();
    for a in &accounts {
        let info = a.info()?;
        let state = a.backup_state(now, ctx.config.backup.max_age_days);
        outln!(
            "{}  {}  {}  {}",
            pad(&a.meta.id, 12),
            pad(&truncate(&a.meta.label, 30), 30),
            pad(&crate::domain::time::date(info.not_after), 10),
            t!(&format!("tui.state_{}", state.word()))
        );
    }
    Ok(0)
}

/// Pads to `width` characters (not bytes: labels are often accented).
/// `s` padded to `width` columns, its control characters made visible first
/// (table cells hold names and subjects from outside).
pub fn pad(s: &str, width: usize) -> String {
    let s = visible(s);
    let n = s.chars().count();
    if n >= width {
        s.into_owned()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

fn truncate(s: &str, n: usize) -> String {
    let s = visible(s);
    if s.chars().count() <= n {
        s.into_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Prints `Label        value` with the label translated and padded, the
/// value's control characters made visible.
pub fn field(key: &str, value: impl std::fmt::Display) {
    outln!("{} {}", pad(&t!(key), 13), Shown(&value));
}

fn show(ctx: &Context, id: &str, json: bool) -> Result<u8, Failure> {
    let account = ctx.store_existing().get(id)?;
    let mut value = account_json(ctx, &account)?;
    let chain: Vec<_> = account
        .chain()?
        .iter()
        .map(|c| {
            let i = identity::CertInfo::of(c);
            json!({"subject": i.subject, "fingerprint": i.fingerprint, "not_after": rfc3339(i.not_after)})
        })
        .collect();
    value["chain"] = serde_json::Value::Array(chain.clone());
    value["backups"] = serde_json::to_value(&account.meta.backups).unwrap_or_default();
    if json {
        print_json(&value);
        return Ok(0);
    }
    let get = |k: &str| value[k].as_str().unwrap_or("-").to_string();
    field("show.account", get("id"));
    field("show.label", get("label"));
    field("show.email", get("email"));
    field("show.subject", get("subject"));
    field("show.issuer", get("issuer"));
    field("show.key", get("key_type"));
    field(
        "show.valid",
        t!(
            "show.valid_range",
            from = get("not_before"),
            to = get("not_after")
        ),
    );
    field("show.fingerprint", get("fingerprint"));
    field("show.chain", t!("show.certificates", count = chain.len()));
    for c in &chain {
        outln!(
            "{} {}",
            pad("", 13),
            visible(c["subject"].as_str().unwrap_or("-"))
        );
    }
    field(
        "show.backup",
        t!(&format!("tui.state_{}", get("backup_state"))),
    );
    if let Some(b) = account.last_backup() {
        field("show.last_backup", format!("{} {}", rfc3339(b.at), b.path));
    }
    let identities = value["identities"].as_array().cloned().unwrap_or_default();
    if identities.len() > 1 {
        field(
            "show.identities",
            t!("show.identity_count", count = identities.len()),
        );
        for i in &identities {
            let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
            let day = |k: &str| s(k).get(..10).unwrap_or("-").to_string();
            let state = if i["current"].as_bool() == Some(true) {
                t!("show.identity_current")
            } else {
                t!("show.identity_superseded", date = day("superseded_at"))
            };
            let expired = if i["expired"].as_bool() == Some(true) {
                format!(", {}", t!("show.identity_expired"))
            } else {
                String::new()
            };
            outln!(
                "{} {}  {} → {}  {state}{expired}",
                pad("", 13),
                s("fingerprint").get(..16).unwrap_or("-"),
                day("not_before"),
                day("not_after"),
            );
        }
    }
    Ok(0)
}

fn forget(
    ctx: &Context,
    id: &str,
    fingerprint: &str,
    yes: bool,
    json: bool,
) -> Result<u8, Failure> {
    let store = ctx.store_existing();
    let account = store.get(id)?;
    // The current identity and an unknown one are refused before any question.
    let wanted = fingerprint.to_ascii_lowercase();
    if wanted.len() >= 8 && account.meta.fingerprint.starts_with(&wanted) {
        return Err(crate::domain::store::StoreError::ForgetCurrent {
            id: account.meta.id.clone(),
            fingerprint: account.meta.fingerprint.clone(),
        }
        .into());
    }
    let Some(earlier) = account
        .meta
        .history
        .iter()
        .find(|h| wanted.len() >= 8 && h.fingerprint.starts_with(&wanted))
    else {
        return Err(crate::domain::store::StoreError::UnknownIdentity {
            id: account.meta.id.clone(),
            fingerprint: fingerprint.to_string(),
        }
        .into());
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::coded(
                t!(
                    "cli.forget_needs_yes",
                    id = account.meta.id,
                    fingerprint = earlier.fingerprint
                ),
                "confirmation_needed",
            ));
        }
        super::print_prompt(&t!(
            "cli.forget_confirm",
            id = account.meta.id,
            label = account.meta.label,
            fingerprint = earlier.fingerprint
        ));
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(Failure::op)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "yes" | "oui") {
            return Err(Failure::op(t!("cli.not_forgotten")));
        }
    }
    let (account, fp) = store.forget(&account, &earlier.fingerprint)?;
    errln!(
        "{}",
        t!("cli.forgotten", id = account.meta.id, fingerprint = fp)
    );
    if json {
        let mut value = account_json(ctx, &account)?;
        value["forgotten"] = json!(fp);
        print_json(&value);
    }
    Ok(0)
}

fn rename(ctx: &Context, id: &str, label: &str, json: bool) -> Result<u8, Failure> {
    let account = ctx.store_existing().rename(id, label)?;
    if json {
        print_json(&account_json(ctx, &account)?);
    } else {
        outln!("{}", account.meta.id);
    }
    Ok(0)
}

/// Whether `id` is a whole account ID (not a prefix): removing such an ID
/// that is already gone succeeds, so a remove can be run again after it was
/// interrupted.
fn is_whole_id(id: &str) -> bool {
    id.len() >= crate::domain::store::ID_LEN
        && id[..crate::domain::store::ID_LEN]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && id[crate::domain::store::ID_LEN..]
            .chars()
            .all(|c| c.is_ascii_digit())
}

fn remove(ctx: &Context, id: &str, yes: bool) -> Result<u8, Failure> {
    let store = ctx.store_existing();
    let account = match store.get(id) {
        Ok(a) => a,
        Err(crate::domain::store::StoreError::UnknownAccount { .. }) if is_whole_id(id) => {
            errln!("{}", t!("cli.already_removed", id = id));
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::op(t!(
                "cli.remove_needs_yes",
                id = account.meta.id
            )));
        }
        super::print_prompt(&t!(
            "cli.remove_confirm",
            id = account.meta.id,
            label = account.meta.label
        ));
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(Failure::op)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "yes" | "oui") {
            return Err(Failure::op(t!("cli.not_removed")));
        }
    }
    if store.remove(&account)? {
        errln!("{}", t!("cli.removed", id = account.meta.id));
    } else {
        errln!("{}", t!("cli.already_removed", id = account.meta.id));
    }
    Ok(0)
}

fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    crate::domain::fsutil::read_limited(path, crate::domain::fsutil::MAX_CERT_FILE).map_err(|e| {
        Failure::op(t!(
            "cli.read_input",
            path = path.display(),
            reason = crate::domain::fsutil::describe_io(&e)
        ))
    })
}

fn import(ctx: &Context, args: &ImportArgs) -> Result<u8, Failure> {
    // A bad label is told before any password is asked.
    if let Some(label) = &args.label {
        crate::domain::store::check_label(label)?;
    }
    let source = Source::from_args(&args.password);
    let (identity, friendly_name) = if let Some(path) = &args.p12 {
        let opened = super::files::open_with_retry(path, &source, args.identity)?;
        if opened.layout.mac.is_none() {
            warn(t!("p12.no_mac"));
        }
        (opened.identity, opened.friendly_name)
    } else {
        let (Some(cert_path), Some(key_path)) = (&args.cert, &args.key) else {
            return Err(Failure {
                message: t!("cli.give_source"),
                code: super::EXIT_USAGE,
                kind: None,
            });
        };
        let cert = read_input(cert_path)?;
        let key_bytes = zeroize::Zeroizing::new(read_input(key_path)?);
        let key_name = key_path.display().to_string();
        let key = if identity::key_is_encrypted(&key_bytes) {
            let pw = password::read(&source, &t!("password.prompt_key", path = key_name))?;
            identity::read_private_key(&key_bytes, Some(&pw), &key_name)?
        } else {
            identity::read_private_key(&key_bytes, None, &key_name)?
        };
        let chains = args
            .chain
            .iter()
            .map(|p| Ok((read_input(p)?, p.display().to_string())))
            .collect::<Result<Vec<_>, Failure>>()?;
        (
            identity_from_files(&cert, &cert_path.display().to_string(), key, &chains)?,
            None,
        )
    };
    finish_import(ctx, &identity, friendly_name.as_deref(), args)
}

fn finish_import(
    ctx: &Context,
    identity: &Identity,
    friendly_name: Option<&str>,
    args: &ImportArgs,
) -> Result<u8, Failure> {
    let now = now();
    let info = identity.info();
    // A label typed by the user is taken as it is or refused; a name from
    // the file or the certificate is made to fit (see docs/formats.md).
    let label = match &args.label {
        Some(label) => {
            crate::domain::store::check_label(label)?;
            label.clone()
        }
        None => crate::domain::import::default_label(identity, friendly_name),
    };
    let email = args
        .email
        .clone()
        .or_else(|| identity::emails(&identity.cert).into_iter().next());
    if info.expired_at(now) {
        warn(t!("cli.import_expired", date = rfc3339(info.not_after)));
    }
    if !identity.chain_complete() {
        warn(t!("cli.import_chain_incomplete"));
    }
    let store = ctx.store()?;
    let locked = store.lock()?;
    if let Some(of) = &args.renewal_of {
        let (account, what) =
            crate::domain::history::renew(&locked, of, identity, args.any_holder, now)?;
        drop(locked);
        if what == crate::domain::history::Renewed::AlreadyPresent {
            errln!("{}", t!("cli.renewal_already", id = account.meta.id));
        }
        if args.json {
            let mut value = account_json(ctx, &account)?;
            value["renewed"] = json!(what == crate::domain::history::Renewed::Renewed);
            print_json(&value);
        } else {
            outln!("{}", account.meta.id);
        }
        return Ok(0);
    }
    // The same holder as an account: a renewal or a separate account? Only
    // the user knows; without --label (a separate account's own name) ask.
    if args.label.is_none() {
        if let Some(c) = crate::domain::history::renewal_candidate(&locked.list()?, &identity.cert)?
        {
            let message = t!("cli.renewal_candidate", id = c.id, label = c.label);
            errln!("certsafe: {}: {message}", t!("cli.error"));
            if args.json {
                print_json(&json!({
                    "renewal_candidate": c,
                    "error": {"message": message, "exit_code": 1, "code": "renewal_candidate"},
                }));
            }
            return Ok(1);
        }
    }
    let account = locked.add(identity, &label, email.as_deref(), now)?;
    drop(locked);
    if args.json {
        print_json(&account_json(ctx, &account)?);
    } else {
        outln!("{}", account.meta.id);
    }
    Ok(0)
}
