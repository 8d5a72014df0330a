//! `certsafe ca ...` and `certsafe correspondent ...`.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::account::pad;
use super::{Context, Failure, print_json};
use crate::domain::certext::{self, KU_CRL_SIGN};
use crate::domain::crl::{self, Env};
use crate::domain::text::visible;
use crate::domain::time::{now, rfc3339};
use crate::domain::trust::{Imported, read_cert_file};
use crate::t;

/// `ca` subcommands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Trust CA certificates (PEM, DER, bundles, PKCS#7) to verify CRLs and chains.
    Import {
        /// Certificate files.
        #[arg(required_unless_present = "igc_sante", value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Trust the IGC-Santé CAs that chain to a root pinned in certsafe:
        /// from the official bundle and AIA addresses, or from the FILEs only.
        #[arg(long)]
        igc_sante: bool,
        /// With --igc-sante: the TEST hierarchy instead of production.
        #[arg(long, requires = "igc_sante")]
        test: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the trusted CAs with their fingerprints.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting a CA.
    Remove {
        /// Its SHA-256 fingerprint (or a unique prefix of 8 or more hex digits).
        fingerprint: String,
    },
}

/// `correspondent` subcommands.
#[derive(Debug, Subcommand)]
pub enum CorrespondentCommand {
    /// Watch correspondents' certificates (PEM, DER, .p7b/.p7c, signed .eml/.p7s).
    Import {
        /// Certificate files or signed messages.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the correspondents with their revocation state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop watching a correspondent.
    Remove {
        /// Its fingerprint (or a unique prefix of 8 or more hex digits).
        id: String,
    },
    /// Find correspondents' certificates in an LDAP directory by e-mail and
    /// import those that chain to a trusted CA.
    Lookup {
        /// E-mail addresses.
        #[arg(required = true, value_name = "EMAIL")]
        emails: Vec<String>,
        /// The directory: an LDAP URL whose DN is where the search starts
        /// (default: `[directory] url` of the configuration).
        #[arg(long, value_name = "LDAP-URL")]
        directory: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read_all(files: &[PathBuf]) -> Result<Vec<openssl::x509::X509>, Failure> {
    let mut certs = Vec::new();
    for f in files {
        certs.extend(read_cert_file(f)?);
    }
    Ok(certs)
}

fn report_imports(list: &[Imported], json: bool) {
    if json {
        print_json(&serde_json::to_value(list).unwrap_or_default());
        return;
    }
    for i in list {
        let key = format!("trustcli.{}", i.action);
        errln!("{}", t!(&key, subject = i.subject));
        if let Some(note) = &i.note {
            errln!("    {}", visible(note));
        }
        if i.action != "skipped" {
            outln!("{}", i.fingerprint);
        }
    }
}

/// Runs a `ca` subcommand.
pub fn run_ca(ctx: &Context, cmd: CaCommand) -> Result<u8, Failure> {
    let env = ctx.crl();
    let store = env.ca_store();
    match cmd {
        CaCommand::Import {
            files,
            igc_sante: true,
            test,
            json,
        } => super::igc::import(ctx, files, test, json),
        CaCommand::Import { files, json, .. } => {
            let certs = read_all(&files)?;
            let done = store.import(&certs)?;
            report_imports(&done, json);
            Ok(0)
        }
        CaCommand::List { json } => {
            let cas = store.list()?;
            if json {
                let items: Vec<_> = cas
                    .iter()
                    .map(|c| {
                        let facts = certext::facts(&c.cert).unwrap_or_default();
                        let info = crate::domain::identity::CertInfo::of(&c.cert);
                        json!({
                            "fingerprint": c.fingerprint,
                            "subject": c.subject,
                            "issuer": info.issuer,
                            "root": c.is_root(),
                            "not_before": rfc3339(info.not_before),
                            "not_after": rfc3339(info.not_after),
                            "crl_sign": facts.key_usage.is_none_or(|k| k & KU_CRL_SIGN != 0),
                            "crl_urls": certext::crl_urls(&c.cert),
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(items));
            } else if cas.is_empty() {
                errln!("{}", t!("trustcli.no_ca"));
            } else {
                outln!(
                    "{}  {}",
                    pad(&t!("show.fingerprint").to_uppercase(), 64),
                    t!("trustcli.head_subject")
                );
                for c in &cas {
                    let root = if c.is_root() {
                        format!(" ({})", t!("trustcli.root"))
                    } else {
                        String::new()
                    };
                    outln!("{}  {}{root}", c.fingerprint, visible(&c.subject));
                }
            }
            Ok(0)
        }
        CaCommand::Remove { fingerprint } => {
            let ca = store.remove(&fingerprint)?;
            errln!("{}", t!("trustcli.ca_removed", subject = ca.subject));
            Ok(0)
        }
    }
}

/// Runs a `correspondent` subcommand.
pub fn run_correspondent(ctx: &Context, cmd: CorrespondentCommand) -> Result<u8, Failure> {
    let env = ctx.crl();
    let store = env.correspondent_store();
    match cmd {
        CorrespondentCommand::Import { files, json } => {
            let certs = read_all(&files)?;
            let done = store.import(&certs)?;
            report_imports(&done, json);
            if done.iter().all(|i| i.action == "skipped") {
                return Err(Failure::op(t!("trustcli.no_correspondent_found")));
            }
            Ok(0)
        }
        CorrespondentCommand::List { json } => {
            let list = crl::correspondents(&env, now())?;
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|c| {
                        let mut v = serde_json::to_value(&c.status).unwrap_or_default();
                        v["emails"] = json!(c.correspondent.emails);
                        v["not_before"] = json!(rfc3339(c.correspondent.info.not_before));
                        v
                    })
                    .collect();
                print_json(&serde_json::Value::Array(items));
            } else if list.is_empty() {
                errln!("{}", t!("trustcli.no_correspondent"));
            } else {
                outln!(
                    "{}  {}  {}",
                    pad(&t!("show.fingerprint").to_uppercase(), 16),
                    pad(&t!("crlcli.head_state"), 14),
                    t!("trustcli.head_subject")
                );
                for c in &list {
                    let key = format!("state.{}", c.status.state.word());
                    outln!(
                        "{}  {}  {}",
                        &c.status.fingerprint[..16],
                        pad(&t!(&key), 14),
                        visible(&c.status.subject)
                    );
                }
            }
            Ok(0)
        }
        CorrespondentCommand::Lookup {
            emails,
            directory,
            json,
        } => {
            let configured = Some(ctx.config.directory.url.clone()).filter(|u| !u.is_empty());
            lookup(&env, &emails, directory.or(configured), json)
        }
        CorrespondentCommand::Remove { id } => {
            let c = store.remove(&id)?;
            errln!(
                "{}",
                t!("trustcli.correspondent_removed", subject = c.info.subject)
            );
            Ok(0)
        }
    }
}

fn lookup(
    env: &Env,
    emails: &[String],
    directory: Option<String>,
    json: bool,
) -> Result<u8, Failure> {
    use crate::domain::ldap::lookup::{self, LookupError};
    let directory =
        directory.ok_or_else(|| Failure::coded(t!("lookupcli.no_directory"), "no_directory"))?;
    let bounds = lookup::bounds_of(env);
    let report = match lookup::lookup(env, &directory, emails, &bounds, now()) {
        Ok(r) => r,
        Err(LookupError::Directory(e)) => {
            return Err(Failure::coded(
                t!(
                    "lookupcli.bad_directory",
                    url = directory,
                    detail = e.to_string()
                ),
                "bad_directory",
            ));
        }
        Err(LookupError::Trust(e)) => return Err(e.into()),
    };
    if json {
        print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        for a in &report.addresses {
            if let Some(e) = &a.error {
                errln!(
                    "{}",
                    t!("lookupcli.failed", email = a.email, detail = e.to_string())
                );
                continue;
            }
            if a.entries == 0 {
                errln!("{}", t!("lookupcli.no_entry", email = a.email));
            }
            for f in &a.imported {
                let key = format!("trustcli.{}", f.action);
                errln!("{}", t!(&key, subject = f.subject));
                outln!("{}", f.fingerprint);
            }
            for s in &a.skipped {
                let key = format!("lookupcli.skip_{}", s.reason.word());
                let what = s.subject.clone().unwrap_or_else(|| s.dn.clone());
                errln!("{}", t!("lookupcli.skipped", what = what, why = t!(&key)));
            }
            if a.truncated {
                errln!(
                    "{}",
                    t!(
                        "lookupcli.truncated",
                        email = a.email,
                        max = lookup::MAX_ENTRIES
                    )
                );
            }
        }
    }
    Ok(u8::from(!report.any_imported()))
}
