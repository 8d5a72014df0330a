//! `certsafe ca import --igc-sante [--test] [FILE...]`: the IGC-Santé
//! preset ([`crate::domain::igc`]) as text or JSON.

use std::path::PathBuf;

use serde_json::json;

use super::{Context, Failure, print_json};
use crate::domain::igc::{self, Hierarchy, Refused, Report, Source};
use crate::t;

/// Why a certificate was refused, in words.
pub fn refusal_words(r: &Refused) -> String {
    let key = format!("igc.refusal_{}", r.code.word());
    let mut text = t!(&key, detail = r.detail.clone().unwrap_or_default());
    if let Some(h) = r.chains_to {
        let hint = format!("igc.chains_to_{}", h.word());
        text = format!("{text}; {}", t!(&hint));
    }
    text
}

/// The hierarchy in words.
pub fn hierarchy_words(h: Hierarchy) -> String {
    let key = format!("igc.hierarchy_{}", h.word());
    t!(&key)
}

fn print_text(report: &Report) {
    for s in &report.sources {
        if let Some(e) = &s.error {
            super::warn(e);
        } else if s.certificates == 0 {
            super::warn(t!("igc.source_empty", source = s.source));
        }
    }
    for r in &report.refused {
        errln!(
            "{}",
            t!(
                "igc.refused",
                subject = r.subject,
                reason = refusal_words(r)
            )
        );
    }
    for i in &report.imported {
        let key = format!("trustcli.{}", i.action);
        errln!("{}", t!(&key, subject = i.subject));
        outln!("{}", i.fingerprint);
    }
    if !report.imported.is_empty() {
        errln!(
            "{}",
            t!(
                "igc.done",
                hierarchy = hierarchy_words(report.hierarchy),
                n = report.imported.len()
            )
        );
    }
}

/// Runs the import; exit 0 when at least one CA is trusted, else 1.
pub fn import(ctx: &Context, files: Vec<PathBuf>, test: bool, json: bool) -> Result<u8, Failure> {
    let hierarchy = if test {
        Hierarchy::Test
    } else {
        Hierarchy::Production
    };
    let source = if files.is_empty() {
        Source::Network {
            base_url: igc::base_url(),
        }
    } else {
        Source::Files(files)
    };
    let report = crate::app::trust_igc(ctx, hierarchy, source)?;
    let failure = report.failure();
    if json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(f) = failure {
            let key = format!("igc.fail_{}", f.word());
            let message = t!(&key, test = report.hierarchy.cli_flag());
            value["error"] = json!({"code": f.word(), "message": message, "exit_code": 1});
        }
        print_json(&value);
    } else {
        print_text(&report);
    }
    match failure {
        None => Ok(0),
        Some(f) => {
            let key = format!("igc.fail_{}", f.word());
            errln!(
                "certsafe: {}: {}",
                t!("cli.error"),
                t!(&key, test = report.hierarchy.cli_flag())
            );
            Ok(1)
        }
    }
}
