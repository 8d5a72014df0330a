//! `certsafe status`: the home screen's alerts for people, scripts and
//! monitoring systems (text, JSON, Nagios plugin line, Prometheus textfile).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use super::{Context, Failure, print_json};
use crate::domain::status::{Level, Status};
use crate::domain::store::Store;
use crate::domain::text::visible;

/// How `status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per alert, in the user's language.
    Text,
    /// `level` and `alerts`.
    Json,
    /// One Nagios/Icinga plugin line with performance data.
    Nagios,
    /// Prometheus text exposition format (`node_exporter` textfile collector).
    Prometheus,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, value_name = "FORMAT", hide_possible_values = true)]
    pub format: Option<Format>,
    /// Write to FILE atomically (mode 0644) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Facts beside the alerts that monitoring graphs: per account, per CRL.
struct Facts {
    /// (account id, certificate notAfter, last verified backup).
    accounts: Vec<(String, Option<OffsetDateTime>, Option<OffsetDateTime>)>,
    /// (issuer, nextUpdate) of each cached CRL.
    crls: Vec<(String, Option<OffsetDateTime>)>,
}

fn facts(ctx: &Context, now: OffsetDateTime) -> Facts {
    let store = Store::open_existing(&ctx.home.accounts_dir());
    let accounts = store
        .list()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a.meta.id.clone(),
                a.info().ok().map(|i| i.not_after),
                a.last_backup().map(|b| b.at),
            )
        })
        .collect();
    let crls = crate::domain::crl::list(&ctx.crl(), now)
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.issuer, e.next_update))
        .collect();
    Facts { accounts, crls }
}

/// Runs `status`; returns the monitoring exit code (0 ok, 1 warning,
/// 2 critical, 3 unknown).
pub fn run(ctx: &Context, args: &StatusArgs) -> Result<u8, Failure> {
    let format = if args.json {
        Format::Json
    } else {
        args.format.unwrap_or(Format::Text)
    };
    let now = ctx.now();
    let status = match crate::app::gather(ctx, now) {
        Ok(s) => s,
        Err(e) => {
            // A store that cannot be read is "unknown" for monitoring, not a crash.
            let message = format!("{}: {}", crate::t!("cli.error"), visible(&e.to_string()));
            let out = match format {
                Format::Nagios => format!("CERTSAFE UNKNOWN - {}\n", one_line(&message)),
                Format::Prometheus => prometheus(&Status::from_alerts(Vec::new()), None, now, false),
                Format::Json => {
                    serde_json::json!({"level": Level::Unknown, "alerts": [], "error": e.to_string()})
                        .to_string()
                        + "\n"
                }
                Format::Text => format!(
                    "{}\n",
                    crate::t!("status.line", level = crate::t!("status.level_unknown"), message = message)
                ),
            };
            emit(args, &out)?;
            return Ok(Level::Unknown.exit_code());
        }
    };
    let out = match format {
        Format::Json => {
            if args.output.is_none() {
                print_json(&serde_json::json!({
                    "level": status.level,
                    "alerts": status.alerts,
                }));
                return Ok(status.level.exit_code());
            }
            serde_json::to_string_pretty(&serde_json::json!({
                "level": status.level,
                "alerts": status.alerts,
            }))
            .unwrap_or_default()
                + "\n"
        }
        Format::Text => text(&status),
        Format::Nagios => nagios(&status),
        Format::Prometheus => prometheus(&status, Some(&facts(ctx, now)), now, true),
    };
    emit(args, &out)?;
    Ok(status.level.exit_code())
}

/// Prints `out`, or writes it atomically to `--output` (readable by the
/// monitoring agent: the file holds no secret).
fn emit(args: &StatusArgs, out: &str) -> Result<(), Failure> {
    match &args.output {
        None => {
            super::print_text(false, out.strip_suffix('\n').unwrap_or(out));
            Ok(())
        }
        Some(path) => crate::domain::fsutil::write_atomic_mode(path, out.as_bytes(), 0o644)
            .map_err(|e| Failure {
                // The check could not deliver its answer: unknown for monitoring.
                message: crate::t!(
                    "status.output_failed",
                    path = visible(&path.display().to_string()),
                    reason = crate::domain::fsutil::describe_io(&e)
                ),
                code: Level::Unknown.exit_code(),
                kind: Some("status_output_failed"),
            }),
    }
}

fn text(status: &Status) -> String {
    let mut out = String::new();
    if status.alerts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            crate::t!(
                "status.line",
                level = crate::t!("status.level_ok"),
                message = crate::t!("status.all_good")
            )
        );
    }
    for a in &status.alerts {
        let key = format!("status.level_{}", a.severity.word());
        let line = crate::t!(
            "status.line",
            level = crate::t!(&key),
            message = visible(&a.message)
        );
        let _ = writeln!(out, "{line}");
        let _ = writeln!(out, "    → {}", visible(&a.recommendation));
    }
    out
}

/// Text for a Nagios plugin line: one line, no `|` (it starts the perfdata).
fn one_line(s: &str) -> String {
    visible(s).replace('|', "/").replace("\\n", " ")
}

/// The Nagios plugin line: `CERTSAFE LEVEL - summary | perfdata`.
fn nagios(status: &Status) -> String {
    let count = |l: Level| status.alerts.iter().filter(|a| a.severity == l).count();
    let word = match status.level {
        Level::Ok => "OK",
        Level::Warning => "WARNING",
        Level::Critical => "CRITICAL",
        Level::Unknown => "UNKNOWN",
    };
    let summary = match status.alerts.first() {
        None => crate::t!("status.all_good"),
        Some(first) if status.alerts.len() == 1 => one_line(&first.message),
        Some(first) => format!(
            "{} (+{})",
            one_line(&first.message),
            status.alerts.len() - 1
        ),
    };
    format!(
        "CERTSAFE {word} - {summary} | alerts={};;;0 critical={};;;0 warning={};;;0 unknown={};;;0\n",
        status.alerts.len(),
        count(Level::Critical),
        count(Level::Warning),
        count(Level::Unknown),
    )
}

/// A Prometheus label value: control characters made visible, then `\`,
/// `"` and newlines escaped.
fn label(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The Prometheus text exposition format.
fn prometheus(status: &Status, facts: Option<&Facts>, now: OffsetDateTime, up: bool) -> String {
    let mut o = String::new();
    let family = |o: &mut String, name: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} gauge");
    };
    family(
        &mut o,
        "certsafe_up",
        "1 when certsafe could read its store, else 0.",
    );
    let _ = writeln!(o, "certsafe_up {}", u8::from(up));
    family(
        &mut o,
        "certsafe_status_level",
        "Worst alert level: 0 ok, 1 warning, 2 critical, 3 unknown.",
    );
    let level = if up { status.level } else { Level::Unknown };
    let _ = writeln!(o, "certsafe_status_level {}", level.exit_code());
    family(&mut o, "certsafe_alerts", "Number of alerts by severity.");
    for l in [Level::Critical, Level::Warning, Level::Unknown] {
        let n = status.alerts.iter().filter(|a| a.severity == l).count();
        let _ = writeln!(o, "certsafe_alerts{{severity=\"{}\"}} {n}", l.word());
    }
    family(
        &mut o,
        "certsafe_alert",
        "One series per alert (value 1), by code, severity and account.",
    );
    for a in &status.alerts {
        let _ = writeln!(
            o,
            "certsafe_alert{{code=\"{}\",severity=\"{}\",account=\"{}\"}} 1",
            label(a.code.as_str()),
            a.severity.word(),
            label(a.account.as_deref().unwrap_or(""))
        );
    }
    if let Some(f) = facts {
        family(
            &mut o,
            "certsafe_certificate_not_after_timestamp_seconds",
            "End of validity of each account's current certificate.",
        );
        for (id, not_after, _) in &f.accounts {
            if let Some(t) = not_after {
                let _ = writeln!(
                    o,
                    "certsafe_certificate_not_after_timestamp_seconds{{account=\"{}\"}} {}",
                    label(id),
                    t.unix_timestamp()
                );
            }
        }
        family(
            &mut o,
            "certsafe_backup_last_verified_timestamp_seconds",
            "Time of each account's last verified backup (absent: never).",
        );
        for (id, _, backup) in &f.accounts {
            if let Some(t) = backup {
                let _ = writeln!(
                    o,
                    "certsafe_backup_last_verified_timestamp_seconds{{account=\"{}\"}} {}",
                    label(id),
                    t.unix_timestamp()
                );
            }
        }
        family(
            &mut o,
            "certsafe_crl_next_update_timestamp_seconds",
            "nextUpdate of each cached CRL.",
        );
        for (issuer, next) in &f.crls {
            if let Some(t) = next {
                let _ = writeln!(
                    o,
                    "certsafe_crl_next_update_timestamp_seconds{{issuer=\"{}\"}} {}",
                    label(issuer),
                    t.unix_timestamp()
                );
            }
        }
    }
    family(
        &mut o,
        "certsafe_status_timestamp_seconds",
        "When this status was computed.",
    );
    let _ = writeln!(
        o,
        "certsafe_status_timestamp_seconds {}",
        now.unix_timestamp()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(label("x\ny"), "x\\\\ny");
        assert_eq!(label("a\x1b[2J"), "a\\\\x1b[2J");
    }

    #[test]
    fn a_nagios_line_has_no_pipe_or_newline_in_its_text() {
        assert_eq!(one_line("a | b\nc"), "a / b c");
    }
}
