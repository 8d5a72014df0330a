//! `status` for monitoring: the Nagios plugin line and the Prometheus
//! textfile, in each of the four levels, checked against the JSON output and
//! (for Prometheus) read back by a real parser.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Alg, Home, Pki, STRONG};

/// The levels a test home goes through, with the exit code each gives.
fn homes() -> Vec<(&'static str, Home, i32)> {
    let mut out = Vec::new();
    // Nothing to protect: unknown.
    out.push(("unknown", Home::new(), 3));
    let pki = Pki::new(Alg::Ec);
    // An account with no backup: critical.
    let h = Home::new();
    h.import(&pki, &pki.leaf("Marie Durand", Alg::Ec), "Dr Marie Durand");
    out.push(("critical", h, 2));
    // Backed up, valid for a year: ok.
    let dest = tempfile::tempdir().unwrap();
    let h = Home::new();
    let id = h.import(&pki, &pki.leaf("Paul Morel", Alg::Ec), "Dr Paul Morel");
    h.backup(&id, dest.path(), STRONG, "modern");
    h.watch_revocation(&pki);
    out.push(("ok", h, 0));
    // Backed up, expiring in 10 days: warning.
    let h = Home::new();
    let id = h.import(
        &pki,
        &pki.leaf_valid("Jean Martin", Alg::Ec, 300, 10),
        "Jean Martin",
    );
    h.backup(&id, dest.path(), STRONG, "modern");
    h.watch_revocation(&pki);
    out.push(("warning", h, 1));
    out
}

fn json_status(home: &Home) -> serde_json::Value {
    let out = home.cmd().args(["status", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nagios_line_in_every_level() {
    for (level, home, code) in homes() {
        let v = json_status(&home);
        assert_eq!(v["level"], level);
        let out = home
            .cmd()
            .args(["--lang", "fr", "status", "--format", "nagios"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{level}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "one line: {text:?}");
        let prefix = format!("CERTSAFE {} - ", level.to_uppercase());
        assert!(text.starts_with(&prefix), "{level}: {text:?}");
        let (_, perf) = text.trim_end().split_once(" | ").expect("perfdata");
        let alerts = v["alerts"].as_array().unwrap();
        let count = |sev: &str| alerts.iter().filter(|a| a["severity"] == sev).count();
        let mut seen = 0;
        for item in perf.split(' ') {
            let (name, rest) = item.split_once('=').unwrap();
            let value: usize = rest.split(';').next().unwrap().parse().unwrap();
            let expected = match name {
                "alerts" => alerts.len(),
                "critical" | "warning" | "unknown" => count(name),
                other => panic!("unexpected perfdata {other}"),
            };
            assert_eq!(value, expected, "{level}: {name}");
            seen += 1;
        }
        assert_eq!(seen, 4);
    }
}

#[test]
fn prometheus_textfile_in_every_level_parses_and_matches_json() {
    let dir = tempfile::tempdir().unwrap();
    for (level, home, code) in homes() {
        let v = json_status(&home);
        let file = dir.path().join(format!("certsafe-{level}.prom"));
        let out = home
            .cmd()
            .args(["status", "--format", "prometheus", "--output"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{level}");
        assert!(out.stdout.is_empty(), "--output writes nothing on stdout");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "the collector must be able to read it");
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
        let value = |name: &str, label: Option<(&str, &str)>| -> Option<f64> {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == name && label.is_none_or(|(k, want)| s.labels.get(k) == Some(want))
                })
                .map(|s| match s.value {
                    prometheus_parse::Value::Gauge(g) | prometheus_parse::Value::Untyped(g) => g,
                    ref other => panic!("{name}: {other:?}"),
                })
        };
        assert_eq!(value("certsafe_up", None), Some(1.0));
        assert_eq!(
            value("certsafe_status_level", None),
            Some(f64::from(code)),
            "{level}"
        );
        let alerts = v["alerts"].as_array().unwrap();
        for sev in ["critical", "warning", "unknown"] {
            let n = alerts.iter().filter(|a| a["severity"] == sev).count();
            assert_eq!(
                value("certsafe_alerts", Some(("severity", sev))),
                Some(n as f64),
                "{level}/{sev}"
            );
        }
        for a in alerts {
            assert_eq!(
                value(
                    "certsafe_alert",
                    Some(("code", a["code"].as_str().unwrap()))
                ),
                Some(1.0)
            );
        }
        // Per-account facts agree with `account list --json`.
        let out = home
            .cmd()
            .args(["account", "list", "--json"])
            .output()
            .unwrap();
        let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for a in accounts.as_array().unwrap() {
            let id = a["id"].as_str().unwrap();
            let not_after = time::OffsetDateTime::parse(
                a["not_after"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            assert_eq!(
                value(
                    "certsafe_certificate_not_after_timestamp_seconds",
                    Some(("account", id))
                ),
                Some(not_after.unix_timestamp() as f64)
            );
            let backed_up = value(
                "certsafe_backup_last_verified_timestamp_seconds",
                Some(("account", id)),
            );
            assert_eq!(backed_up.is_some(), a["backup_state"] != "none", "{a}");
        }
    }
    // Nothing but the four files: no temporary left beside them.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}

#[test]
fn json_and_format_together_is_a_usage_error() {
    let home = Home::new();
    let out = home
        .cmd()
        .args(["status", "--json", "--format", "nagios"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn an_unwritable_output_is_unknown() {
    let home = Home::new();
    let out = home
        .cmd()
        .args(["status", "--format", "prometheus", "--output"])
        .arg(home.path().join("no/such/folder/x.prom"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!out.stderr.is_empty());
}
