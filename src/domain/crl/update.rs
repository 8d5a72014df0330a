//! `crl update`: fetch every CRL that is due, a few at a time, verify and
//! cache each under the lock, remember `ETag`s and outcomes.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::cache::{Attempt, CaState, Cause, State, UrlState, index_key};
use super::fetch::{Fetcher, Request, Response};
use super::index::{Header, Index};
use super::{AcceptError, Accepted, CrlError, Env, Slot, UrlKind, accept_for, reverify, slots};
use crate::domain::trust::TrustedCa;

/// How to update.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Download even when the cached CRL is fresh.
    pub force: bool,
    /// The time.
    pub now: OffsetDateTime,
    /// How long to wait for another update's lock.
    pub lock_wait: Duration,
}

impl UpdateOptions {
    /// Not forced, at `now`, waiting up to ten minutes for the lock.
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            force: false,
            now,
            lock_wait: Duration::from_secs(600),
        }
    }
}

/// What happened to one CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new CRL was accepted.
    Updated,
    /// Downloaded, identical to the cached one.
    Unchanged,
    /// The server said 304.
    NotModified,
    /// Fresh and recently confirmed: not downloaded.
    NotDue,
    /// The download failed a rule; the cached copy stays.
    Invalid,
    /// The download failed; the cached copy stays.
    Unreachable,
    /// The CRL was fine but the cache could not be written (disk full,
    /// read-only): a local fault, not the CRL's.
    CacheError,
    /// Only LDAP (or unknown) addresses: nothing fetched.
    NotFetched,
    /// The issuing CA is not imported: nothing can be verified.
    NoCa,
}

impl Outcome {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::NotModified => "not_modified",
            Self::NotDue => "not_due",
            Self::Invalid => "invalid",
            Self::Unreachable => "unreachable",
            Self::CacheError => "cache_error",
            Self::NotFetched => "not_fetched",
            Self::NoCa => "no_ca",
        }
    }

    /// Whether this is a failure of `crl update`.
    pub fn failed(self) -> bool {
        matches!(self, Self::Invalid | Self::Unreachable | Self::CacheError)
    }
}

/// The result for one CRL.
#[derive(Debug, Clone, Serialize)]
pub struct SlotReport {
    /// The slot's key (CA fingerprint, `issuer:...` or `url:...`).
    pub key: String,
    /// The issuer.
    pub issuer: String,
    /// The CA's fingerprint, when known.
    pub ca_fingerprint: Option<String>,
    /// The address used.
    pub url: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Why (for failures, LDAP, no CA), as data; [`SlotReport::reason`]
    /// puts it into words.
    pub cause: Option<Cause>,
    /// Entries of the cached CRL after the update.
    pub entries: Option<u64>,
    /// nextUpdate of the cached CRL after the update.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// What happened to the CA's delta CRL (None: it names none).
    pub delta: Option<Box<super::delta::DeltaReport>>,
}

impl SlotReport {
    /// Why, in the reader's language.
    pub fn reason(&self) -> Option<String> {
        self.cause.as_ref().map(ToString::to_string)
    }
}

/// Progress of an update, for a progress bar or a TUI screen. Delivered on
/// the thread that called [`update`].
#[derive(Debug, Clone)]
pub enum CrlProgress {
    /// Another process holds the lock; waiting.
    WaitingForLock,
    /// How many CRLs will be downloaded.
    Planned {
        /// Downloads to do.
        downloads: usize,
    },
    /// A download starts.
    Started {
        /// The slot.
        key: String,
        /// The issuer.
        issuer: String,
        /// The address.
        url: String,
    },
    /// Bytes arrived.
    Received {
        /// The slot.
        key: String,
        /// The address.
        url: String,
        /// Bytes so far.
        bytes: u64,
        /// Content-Length, when sent.
        total: Option<u64>,
    },
    /// A CRL is done (fetched, verified, cached — or failed).
    Finished(SlotReport),
}

/// The result of an update.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateReport {
    /// One per CRL.
    pub crls: Vec<SlotReport>,
}

impl UpdateReport {
    /// Whether any CRL failed.
    pub fn failed(&self) -> bool {
        self.crls.iter().any(|r| r.outcome.failed())
    }
}

struct Job {
    slot: Slot,
    requests: Vec<Request>,
    /// What was remembered about each address (same order as `requests`).
    known: Vec<UrlState>,
}

struct JobResult {
    report: SlotReport,
    url_updates: Vec<(String, UrlState)>,
}

enum Msg {
    Progress(CrlProgress),
    Done(Box<JobResult>),
}

fn is_due(env: &Env, key: &[u8], slot: &Slot, state: &State, now: OffsetDateTime) -> bool {
    let Some(ca) = &slot.ca else {
        return true;
    };
    if env.cache().meta(&ca.fingerprint).is_none() {
        return true;
    }
    // No usable index (damaged, edited, older format): fetch again. The
    // dates come from the index (authenticated), not from meta.json.
    let Some(header) = index_header(env, key, &ca.fingerprint) else {
        return true;
    };
    let next_update = super::parse::unix(header.next_update);
    let ca_state = state.cas.get(&ca.fingerprint).cloned().unwrap_or_default();
    if ca_state.last.as_ref().is_some_and(Attempt::failed) {
        return true;
    }
    let warning = time::Duration::hours(i64::from(env.policy.warning_hours));
    let refresh = time::Duration::hours(i64::from(env.policy.refresh_hours));
    next_update - now <= warning || ca_state.confirmed_at.is_none_or(|c| now - c >= refresh)
}

/// The header of the CA's authenticated index of its own CRL, if any.
fn index_header(env: &Env, key: &[u8], fp: &str) -> Option<Header> {
    Index::load(&env.cache().index_path(fp), key)
        .ok()
        .filter(|i| hex::encode(i.header.ca_sha256) == fp)
        .map(|i| i.header)
}

/// Whether the CA has an authenticated index of its own CRL.
fn has_index(env: &Env, key: &[u8], fp: &str) -> bool {
    index_header(env, key, fp).is_some()
}

fn report(slot: &Slot, outcome: Outcome, cause: Option<Cause>) -> SlotReport {
    SlotReport {
        key: slot.key.to_string(),
        issuer: slot.issuer.clone(),
        ca_fingerprint: slot.ca.as_ref().map(|c| c.fingerprint.clone()),
        url: None,
        outcome,
        cause,
        entries: None,
        next_update: None,
        delta: None,
    }
}

/// Fetches every CRL that is due (all with `force`), verifies and caches
/// them, and says what happened to each. Blocks: call it from a worker
/// thread in a TUI. `progress` is called on this thread.
pub fn update(
    env: &Env,
    fetcher: &dyn Fetcher,
    options: &UpdateOptions,
    progress: &mut dyn FnMut(CrlProgress),
) -> Result<UpdateReport, CrlError> {
    let cache = env.cache();
    let _lock = cache.lock(options.lock_wait, &mut || {
        progress(CrlProgress::WaitingForLock);
    })?;
    let key = index_key(&env.home.index_key_file())?;
    let cas = env.ca_store().list()?;
    let mut state = cache.state();
    let now = options.now;
    let mut reports = Vec::new();
    let mut jobs = Vec::new();
    let slots = slots(env, &cas)?;
    // A cached CRL whose index is refused (damaged, edited, older format) is
    // verified again from crl.der under every rule, and its index rebuilt.
    for fp in slots
        .iter()
        .filter_map(|s| s.ca.as_ref())
        .map(|c| &c.fingerprint)
    {
        if !has_index(env, &key, fp) {
            let _ = reverify(env, &cas, &key, fp, now);
        }
    }
    for slot in slots.clone() {
        if slot.key.is_missing_ca() {
            let r = report(
                &slot,
                Outcome::NoCa,
                Some(Cause::CaNotImported {
                    issuer: slot.issuer.clone(),
                }),
            );
            progress(CrlProgress::Finished(r.clone()));
            reports.push(r);
            continue;
        }
        // One slot per CA: its HTTP and LDAP addresses (every certificate's
        // distribution points, the configured ones) are tried in turn, HTTP
        // first, until one gives a CRL the rules accept.
        let mut fetchable: Vec<&String> = slot
            .urls
            .iter()
            .filter(|u| UrlKind::of(u).fetched())
            .collect();
        fetchable.sort_by_key(|u| UrlKind::of(u).rank());
        if fetchable.is_empty() {
            let r = report(
                &slot,
                Outcome::NotFetched,
                (!slot.urls.is_empty()).then_some(Cause::NoFetchableUrl),
            );
            progress(CrlProgress::Finished(r.clone()));
            reports.push(r);
            continue;
        }
        if !options.force && !is_due(env, &key, &slot, &state, now) {
            let mut r = report(&slot, Outcome::NotDue, None);
            if let Some(m) = slot.ca.as_ref().and_then(|c| cache.meta(&c.fingerprint)) {
                r.entries = Some(m.entries);
                r.next_update = Some(m.next_update);
                r.url = Some(m.source);
            }
            progress(CrlProgress::Finished(r.clone()));
            reports.push(r);
            continue;
        }
        let has_cache = slot
            .ca
            .as_ref()
            .is_some_and(|c| cache.meta(&c.fingerprint).is_some());
        let known = fetchable
            .iter()
            .map(|u| state.urls.get(*u).cloned().unwrap_or_default())
            .collect();
        let requests = fetchable
            .into_iter()
            .map(|u| {
                let known = state.urls.get(u).filter(|_| has_cache && !options.force);
                Request {
                    url: u.clone(),
                    etag: known.and_then(|k| k.etag.clone()),
                    last_modified: known.and_then(|k| k.last_modified.clone()),
                }
            })
            .collect();
        jobs.push(Job {
            slot,
            requests,
            known,
        });
    }
    progress(CrlProgress::Planned {
        downloads: jobs.len(),
    });
    let workers = usize::try_from(env.policy.parallel.max(1))
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let queue = Mutex::new(jobs.into_iter());
    let commit = Mutex::new(());
    let (tx, rx) = mpsc::channel::<Msg>();
    let cas_ref = &cas;
    let key_ref = &key;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let queue = &queue;
            let commit = &commit;
            scope.spawn(move || {
                loop {
                    let job = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some(job) = job else { break };
                    let result = run_job(env, fetcher, cas_ref, key_ref, commit, &job, now, &tx);
                    if tx.send(Msg::Done(Box::new(result))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for msg in rx {
            match msg {
                Msg::Progress(p) => progress(p),
                Msg::Done(result) => {
                    record(&mut state, &result, now);
                    progress(CrlProgress::Finished(result.report.clone()));
                    reports.push(result.report);
                }
            }
        }
    });
    // Then the delta CRLs, beside the bases just updated.
    super::delta::update_all(
        env,
        fetcher,
        &cas,
        &key,
        &slots,
        &mut reports,
        &mut state,
        options.force,
        now,
    );
    cache.save_state(&state)?;
    let journaled: Vec<_> = reports
        .iter()
        .filter(|r| {
            !matches!(
                r.outcome,
                Outcome::NotDue | Outcome::NotFetched | Outcome::NoCa
            )
        })
        .map(|r| crate::domain::journal::Event::CrlUpdate {
            ca_fingerprint: r.ca_fingerprint.clone(),
            issuer: r.issuer.clone(),
            outcome: r.outcome,
            url: r.url.clone(),
            cause: r.cause.clone(),
        })
        .collect();
    crate::domain::journal::record_all(&env.home, &journaled);
    Ok(UpdateReport { crls: reports })
}

fn record(state: &mut State, result: &JobResult, now: OffsetDateTime) {
    let r = &result.report;
    for (url, u) in &result.url_updates {
        state.urls.insert(url.clone(), u.clone());
    }
    let Some(fp) = &r.ca_fingerprint else {
        return;
    };
    let entry: &mut CaState = state.cas.entry(fp.clone()).or_default();
    entry.last = Some(Attempt {
        at: now,
        outcome: r.outcome.into(),
        cause: r.cause.clone(),
        legacy_message: None,
        url: r.url.clone(),
    });
    if matches!(
        r.outcome,
        Outcome::Updated | Outcome::Unchanged | Outcome::NotModified
    ) {
        entry.confirmed_at = Some(now);
    }
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    env: &Env,
    fetcher: &dyn Fetcher,
    cas: &[TrustedCa],
    key: &[u8],
    commit: &Mutex<()>,
    job: &Job,
    now: OffsetDateTime,
    tx: &mpsc::Sender<Msg>,
) -> JobResult {
    let slot = &job.slot;
    let mut url_updates = Vec::new();
    let mut first_failure: Option<SlotReport> = None;
    for (req, known) in job.requests.iter().zip(&job.known) {
        let _ = tx.send(Msg::Progress(CrlProgress::Started {
            key: slot.key.to_string(),
            issuer: slot.issuer.clone(),
            url: req.url.clone(),
        }));
        let mut last_sent = 0u64;
        let mut on_bytes = |bytes: u64, total: Option<u64>| {
            // At most one message per 64 KiB (and the last one).
            if bytes - last_sent >= 64 * 1024 || total == Some(bytes) {
                last_sent = bytes;
                let _ = tx.send(Msg::Progress(CrlProgress::Received {
                    key: slot.key.to_string(),
                    url: req.url.clone(),
                    bytes,
                    total,
                }));
            }
        };
        let answer = fetcher.fetch(req, &mut on_bytes);
        // A failed download keeps the validators of the accepted copy.
        let mut url_state = UrlState {
            etag: known.etag.clone(),
            last_modified: known.last_modified.clone(),
            ca: slot
                .ca
                .as_ref()
                .map(|c| c.fingerprint.clone())
                .or_else(|| known.ca.clone()),
            last: None,
        };
        let mut r = report(slot, Outcome::Unreachable, None);
        r.url = Some(req.url.clone());
        match answer {
            Ok(Response::NotModified)
                if slot
                    .ca
                    .as_ref()
                    .is_some_and(|c| has_index(env, key, &c.fingerprint)) =>
            {
                r.outcome = Outcome::NotModified;
            }
            Ok(Response::NotModified) => {
                // "Not modified" with nothing cached confirms nothing.
                r.cause = Some(Cause::NotModifiedUncached {
                    url: req.url.clone(),
                });
                url_state.etag = None;
                url_state.last_modified = None;
            }
            Ok(Response::Body {
                bytes,
                etag,
                last_modified,
            }) => {
                let accepted = {
                    let _guard = commit.lock();
                    let expected = slot.ca.as_ref().map(|c| c.fingerprint.as_str());
                    accept_for(env, cas, key, &bytes, &req.url, now, expected)
                };
                drop(bytes);
                match accepted {
                    Ok(a) => {
                        r.outcome = match a {
                            Accepted::Updated(_) => Outcome::Updated,
                            Accepted::Unchanged(_) => Outcome::Unchanged,
                        };
                        r.ca_fingerprint = Some(a.meta().ca_fingerprint.clone());
                        r.issuer.clone_from(&a.meta().issuer);
                        url_state.etag = etag;
                        url_state.last_modified = last_modified;
                        url_state.ca = Some(a.meta().ca_fingerprint.clone());
                    }
                    Err(AcceptError::Rejected(reason, ca)) => {
                        r.outcome = Outcome::Invalid;
                        r.cause = Some(Cause::Rejected(reason));
                        if r.ca_fingerprint.is_none() {
                            r.ca_fingerprint = ca;
                        }
                        // Never send a validator for a copy that was refused.
                        url_state.etag = None;
                        url_state.last_modified = None;
                    }
                    Err(AcceptError::Cache(e)) => {
                        // Not the CRL's fault, and no other address would
                        // fare better: stop here.
                        r.outcome = Outcome::CacheError;
                        r.cause = Some(Cause::cache(&e));
                        url_state.last = Some(Attempt {
                            at: now,
                            outcome: r.outcome.into(),
                            cause: r.cause.clone(),
                            legacy_message: None,
                            url: Some(req.url.clone()),
                        });
                        url_updates.push((req.url.clone(), url_state));
                        return JobResult {
                            report: r,
                            url_updates,
                        };
                    }
                }
            }
            Err(e) => {
                r.cause = Some(Cause::Fetch(e));
            }
        }
        url_state.last = Some(Attempt {
            at: now,
            outcome: r.outcome.into(),
            cause: r.cause.clone(),
            legacy_message: None,
            url: Some(req.url.clone()),
        });
        url_updates.push((req.url.clone(), url_state));
        if !r.outcome.failed() {
            if let Some(m) = r
                .ca_fingerprint
                .as_deref()
                .and_then(|fp| env.cache().meta(fp))
            {
                r.entries = Some(m.entries);
                r.next_update = Some(m.next_update);
            }
            return JobResult {
                report: r,
                url_updates,
            };
        }
        // An invalid copy is the more telling failure; keep the first of those.
        let replace = match &first_failure {
            None => true,
            Some(f) => f.outcome == Outcome::Unreachable && r.outcome == Outcome::Invalid,
        };
        if replace {
            first_failure = Some(r);
        }
    }
    JobResult {
        report: first_failure.unwrap_or_else(|| report(slot, Outcome::NotFetched, None)),
        url_updates,
    }
}
