//! `certsafe crl update|import|status` and `certsafe check`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::account::pad;
use super::{Context, Failure, print_json, warn};
use crate::domain::crl::check::{CertState, Checker, reason_words};
use crate::domain::crl::{self, Accepted, CrlProgress, Env, Holder, Outcome, UpdateOptions};
use crate::domain::status::{Level, Status};
use crate::domain::text::visible;
use crate::domain::time::{now, parse_duration, rfc3339};
use crate::domain::trust::read_cert_file;
use crate::t;

/// `crl` subcommands.
#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Download the CRLs and delta CRLs that are due, verify them and cache them.
    Update {
        /// Download even the CRLs that are still fresh.
        #[arg(long)]
        force: bool,
        /// Wait a random time up to DURATION first (e.g. 2h, 30m), to spread cron jobs.
        #[arg(long, value_name = "DURATION")]
        jitter: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import CRL files (DER or PEM, complete or delta) brought on a USB stick.
    Import {
        /// CRL files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Each CRL's state, dates, number and delta CRL, and the certificates' states; exit 0 ok, 1 warning, 2 critical, 3 unknown.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Certificate files (PEM, DER, bundles, .p7b, signed .eml).
    #[arg(required = true, value_name = "CERTFILE")]
    pub files: Vec<PathBuf>,
    /// Ask each certificate's OCSP responder now, even when a fresh CRL covers it.
    #[arg(long)]
    pub ocsp: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `crl` subcommand.
pub fn run(ctx: &Context, cmd: CrlCommand) -> Result<u8, Failure> {
    let env = ctx.crl();
    match cmd {
        CrlCommand::Update {
            force,
            jitter,
            json,
        } => update(ctx, force, jitter.as_deref(), json),
        CrlCommand::Import { files, json } => Ok(import(&env, &files, json)),
        CrlCommand::Status { json } => status(&env, json).map_err(unknown_on_failure),
    }
}

fn random_below(max_secs: u64) -> u64 {
    if max_secs == 0 {
        return 0;
    }
    let mut b = [0u8; 8];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        return 0;
    }
    u64::from_le_bytes(b) % max_secs
}

fn human_size(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1 << 20 {
        format!("{:.1} MiB", f / f64::from(1u32 << 20))
    } else {
        format!("{:.0} KiB", f / 1024.0)
    }
}

fn outcome_words(o: Outcome) -> String {
    let key = format!("crlcli.outcome_{}", o.word());
    t!(&key)
}

fn update(ctx: &Context, force: bool, jitter: Option<&str>, json: bool) -> Result<u8, Failure> {
    let env = &ctx.crl();
    let terminal = std::io::stderr().is_terminal();
    let jitter = match jitter {
        Some(j) => Some(parse_duration(j).ok_or_else(|| Failure {
            message: t!("crlcli.bad_duration", value = j),
            code: super::EXIT_USAGE,
            kind: None,
        })?),
        None if !terminal && !env.policy.jitter.trim().is_empty() => Some(
            parse_duration(&env.policy.jitter)
                .ok_or_else(|| Failure::op(t!("crlcli.bad_duration", value = env.policy.jitter)))?,
        ),
        None => None,
    };
    if let Some(j) = jitter {
        let wait = random_below(j.as_secs());
        if wait > 0 {
            if terminal && !json {
                errln!("{}", t!("crlcli.jitter_wait", seconds = wait));
            }
            std::thread::sleep(std::time::Duration::from_secs(wait));
        }
    }
    let show = terminal && !json;
    let mut err = std::io::stderr();
    let mut progress = |p: CrlProgress| {
        if !show {
            return;
        }
        match p {
            CrlProgress::WaitingForLock => {
                let _ = writeln!(err, "{}", t!("crlcli.waiting_lock"));
            }
            CrlProgress::Planned { downloads } if downloads > 0 => {
                let _ = writeln!(err, "{}", t!("crlcli.planned", count = downloads));
            }
            CrlProgress::Planned { .. } => {}
            CrlProgress::Started { url, .. } => {
                let _ = write!(err, "\r\x1b[K  ↓ {}", visible(&url));
            }
            CrlProgress::Received {
                url, bytes, total, ..
            } => {
                let size = match total {
                    Some(t) if t > 0 => {
                        format!(
                            "{} / {} ({}%)",
                            human_size(bytes),
                            human_size(t),
                            bytes * 100 / t
                        )
                    }
                    _ => human_size(bytes),
                };
                let _ = write!(err, "\r\x1b[K  ↓ {}  {size}", visible(&url));
            }
            CrlProgress::Finished(_) => {
                let _ = write!(err, "\r\x1b[K");
                let _ = err.flush();
            }
        }
        let _ = err.flush();
    };
    let mut options = UpdateOptions::at(ctx.now());
    options.force = force;
    let report = crate::app::update_crls(ctx, &options, &mut progress)?;
    if json {
        // One document on stdout, also when some CRLs failed: the report
        // with the error beside it (as the top level writes it alone).
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if report.failed() {
            let message = t!("crlcli.update_failed");
            v["error"] = serde_json::json!({
                "message": message,
                "exit_code": 1,
                "code": "crl_update_failed",
            });
            print_json(&v);
            errln!("certsafe: {}: {}", t!("cli.error"), message);
            return Ok(1);
        }
        print_json(&v);
    } else if report.crls.is_empty() {
        errln!("{}", t!("crlcli.nothing_to_update"));
    } else {
        for r in &report.crls {
            let mut line = format!(
                "{}  {}",
                pad(&outcome_words(r.outcome), 22),
                visible(&r.issuer)
            );
            if let (Some(n), Some(next)) = (r.entries, r.next_update) {
                line.push_str(" — ");
                line.push_str(&t!(
                    "crlcli.entries_next",
                    entries = n,
                    date = rfc3339(next)
                ));
            }
            outln!("{line}");
            if let Some(m) = &r.reason() {
                outln!("    {}", visible(m));
            }
        }
    }
    if report.failed() {
        return Err(Failure::op(t!("crlcli.update_failed")));
    }
    Ok(0)
}

fn import(env: &Env, files: &[PathBuf], json: bool) -> u8 {
    let mut items = Vec::new();
    let mut failed = false;
    for f in files {
        match crl::import_file(env, f, now()) {
            Ok(a) => {
                let m = a.meta();
                let action = match a {
                    Accepted::Updated(_) => "imported",
                    Accepted::Unchanged(_) => "unchanged",
                };
                items.push(json!({
                    "file": f, "action": action, "issuer": m.issuer,
                    "this_update": rfc3339(m.this_update), "next_update": rfc3339(m.next_update),
                    "entries": m.entries, "crl_number": m.crl_number,
                }));
                if !json {
                    outln!(
                        "{}",
                        t!(
                            &format!("crlcli.import_{action}"),
                            issuer = m.issuer,
                            entries = m.entries,
                            date = rfc3339(m.next_update)
                        )
                    );
                }
            }
            Err(e) => {
                failed = true;
                items.push(json!({"file": f, "action": "rejected", "code": e.code(), "error": e.to_string()}));
                errln!("certsafe: {}: {e}", t!("cli.error"));
            }
        }
    }
    if json {
        print_json(&serde_json::Value::Array(items));
    }
    u8::from(failed)
}

fn status(env: &Env, json: bool) -> Result<u8, Failure> {
    let t_now = now();
    let cas = env.ca_store().list()?;
    let crls = crl::list(env, t_now)?;
    let mut checker = Checker::with_cas(env, cas.clone(), t_now);
    let mut certs = Vec::new();
    for (cert, holder) in crl::held(env, &cas)? {
        if matches!(holder, Holder::Account { .. } | Holder::Correspondent) {
            certs.push((checker.check(&cert), holder));
        }
    }
    // One severity policy: the level is the worst of the alerts `status`
    // and the home panes show for CRLs and revocation (`crl::alerts`), so
    // the two monitoring commands cannot disagree (tests/one_level.rs).
    let level = Status::from_alerts(crl::alerts(env, t_now)?).level;
    if json {
        let certificates: Vec<_> = certs
            .iter()
            .map(|(c, h)| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["holder"] = serde_json::to_value(h).unwrap_or_default();
                v
            })
            .collect();
        print_json(&json!({
            "level": level,
            "crls": crls,
            "certificates": certificates,
        }));
        return Ok(level.exit_code());
    }
    if cas.is_empty() {
        outln!("{}", t!("status.no_ca"));
        outln!("    → {}", t!("status.no_ca_fix"));
    }
    for e in &crls {
        let key = format!("state.{}", e.state.word());
        outln!(
            "{}  {}",
            pad(&t!(&key).to_uppercase(), 14),
            visible(&e.issuer)
        );
        if let Some(u) = &e.url {
            outln!("    {} {}", pad(&t!("crlcli.url"), 14), visible(u));
        }
        if let (Some(tu), Some(nu)) = (e.this_update, e.next_update) {
            outln!(
                "    {} {}",
                pad(&t!("crlcli.dates"), 14),
                t!(
                    "crlcli.dates_value",
                    this_update = rfc3339(tu),
                    next_update = rfc3339(nu)
                )
            );
            outln!(
                "    {} {}",
                pad(&t!("crlcli.entries"), 14),
                e.entries.unwrap_or(0)
            );
            if let Some(n) = &e.crl_number {
                outln!("    {} {}", pad(&t!("crlcli.crl_number"), 14), visible(n));
            }
        }
        if let Some(d) = &e.delta {
            print_delta(d);
        }
        for u in e.urls.iter().filter(|u| !u.fetched) {
            outln!(
                "    {} {} — {}",
                pad(&t!("crlcli.url"), 14),
                visible(&u.url),
                visible(u.note.as_deref().unwrap_or_default())
            );
        }
        if let Some(r) = &e.reason {
            outln!("    {}", visible(r));
        }
    }
    if !certs.is_empty() {
        outln!();
    }
    for (c, _) in &certs {
        print_cert_line(c);
    }
    Ok(level.exit_code())
}

fn print_delta(d: &crate::domain::crl::delta::DeltaEntry) {
    let state = t!(&format!("state.{}", d.state.word()));
    outln!(
        "    {} {}",
        pad(&t!("crlcli.delta"), 14),
        t!(
            "crlcli.delta_value",
            state = state,
            number = d.crl_number.as_deref().unwrap_or("-"),
            base = d.base_crl_number.as_deref().unwrap_or("-"),
            entries = d.entries.unwrap_or(0)
        )
    );
    if let Some(u) = &d.url {
        outln!("    {} {}", pad("", 14), visible(u));
    }
    if let Some(why) = d.ignored {
        let words = t!(&format!("delta_ignored.{}", why.word()));
        outln!(
            "    {} {}",
            pad("", 14),
            t!("crlcli.delta_ignored", why = words)
        );
    }
    if let Some(r) = &d.reason {
        outln!("    {} {}", pad("", 14), visible(r));
    }
}

fn print_cert_line(c: &crate::domain::crl::check::CertStatus) {
    let key = format!("state.{}", c.state.word());
    outln!(
        "{}  {}",
        pad(&t!(&key).to_uppercase(), 14),
        visible(&c.subject)
    );
    if c.state == CertState::Revoked {
        outln!(
            "    {}",
            t!(
                "crlcli.revoked_line",
                date = c.revoked_at.map(rfc3339).unwrap_or_default(),
                reason = reason_words(c.reason)
            )
        );
    }
    if let Some(d) = &c.detail {
        outln!("    {}", visible(d));
    }
    if let Some(source) = c.source {
        let key = format!("ocsp.source_{}", source.word());
        outln!("    {}", t!("ocsp.source_line", source = t!(&key)));
    }
    if let Some(a) = &c.ocsp {
        outln!("    {}", ocsp_line(a));
    }
    if let Some(why) = c.delta_ignored {
        let words = t!(&format!("delta_ignored.{}", why.word()));
        outln!(
            "    {} {}",
            t!("crlcli.delta"),
            t!("crlcli.delta_ignored", why = words)
        );
    }
}

fn ocsp_line(a: &crate::domain::crl::ocsp::OcspAnswer) -> String {
    use crate::domain::crl::ocsp::{NonceState, OcspStatus};
    let status = if a.status == OcspStatus::Error {
        let code = a.code.map_or("malformed", |c| c.word());
        t!(&format!("ocsp.code_{code}"))
    } else {
        t!(&format!("ocsp.status_{}", a.status.word()))
    };
    let mut line = t!("ocsp.line", url = a.url, status = status);
    if let Some(next) = a.next_update {
        line.push_str(&t!("ocsp.until", date = rfc3339(next)));
    } else if a.this_update.is_some() {
        line.push_str(&t!("ocsp.no_next_update"));
    }
    if a.nonce == Some(NonceState::Absent) {
        line.push_str(&t!("ocsp.nonce_absent"));
    }
    if a.cached {
        line.push_str(&t!("ocsp.cached"));
    }
    line
}

/// A check that cannot run is "unknown" (3) for monitoring, not a failure (1).
fn unknown_on_failure(f: Failure) -> Failure {
    if f.code == 1 {
        Failure {
            message: f.message,
            code: Level::Unknown.exit_code(),
            kind: f.kind,
        }
    } else {
        f
    }
}

/// `certsafe check CERTFILE...`.
pub fn check(ctx: &Context, args: &CheckArgs) -> Result<u8, Failure> {
    check_inner(ctx, args).map_err(unknown_on_failure)
}

fn check_inner(ctx: &Context, args: &CheckArgs) -> Result<u8, Failure> {
    let env = ctx.crl();
    let t_now = now();
    let mut checker = Checker::new(&env, t_now)?;
    if args.ocsp || env.revocation.ocsp {
        use crate::domain::crl::check::OcspMode;
        use crate::domain::crl::ocsp;
        let transport = crate::domain::crl::fetch::HttpFetcher::new(ocsp::limits(&env.policy))
            .ok()
            .map(|f| Box::new(f) as Box<dyn ocsp::Transport>);
        let mode = if args.ocsp {
            OcspMode::Always
        } else {
            OcspMode::WhenNoCrl
        };
        checker.set_ocsp(
            ocsp::Client::new(transport, &env.home.crl_cache_dir()),
            mode,
        );
    }
    let mut level = Level::Ok;
    let mut items = Vec::new();
    for f in &args.files {
        let certs = match read_cert_file(f) {
            Ok(c) => c,
            Err(e) => {
                errln!("certsafe: {}: {e}", t!("cli.error"));
                level = level.worst(Level::Unknown);
                continue;
            }
        };
        for cert in certs {
            let s = checker.check(&cert);
            level = level.worst(s.state.level());
            if !args.json {
                print_cert_line(&s);
            }
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            v["file"] = json!(f);
            items.push(v);
        }
    }
    if args.json {
        print_json(&json!({"level": level, "certificates": items}));
    }
    if items.is_empty() && level == Level::Ok {
        warn(t!("crlcli.no_certificate"));
        level = Level::Unknown;
    }
    Ok(level.exit_code())
}
