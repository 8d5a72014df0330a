//! The backup wizard: account → drive → file name and profile → password
//! → summary → writing and verifying → result.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use time::OffsetDateTime;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::app::{AccountRow, Effect, Msg, Outcome, is_yes};
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, input_field, kv, level_line, list_lines, wrapped};
use crate::domain::backup::{self, BackupOutcome, Destination, default_file_name, step_words};
use crate::domain::drives::{Drive, DriveGuard};
use crate::domain::p12::Profile;
use crate::domain::secret::{
    Password, PasswordError, Strength, check_new_password, strength, strength_words,
};
use crate::domain::status::Level;
use crate::t;

/// Where the backup goes, as chosen so far.
#[derive(Debug, Clone)]
pub struct Place {
    /// The folder.
    pub dir: PathBuf,
    /// The drive, when a drive was chosen.
    pub drive: Option<Drive>,
    /// The drive as it was when chosen.
    pub guard: DriveGuard,
}

/// Which field has the focus on the name step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFocus {
    /// The file name.
    Name,
    /// The profile choice.
    Profile,
}

/// Why the wizard went back to the drive step, as data (words at display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveAlert {
    /// The chosen drive was pulled out (its name).
    Removed(String),
}

/// What the user chose before the drive went away; given back on the
/// following steps while the user stays in the wizard.
pub struct Kept {
    /// The file name typed.
    pub name: String,
    /// The profile.
    pub profile: Profile,
    /// The password and its confirmation as typed (`None` before the
    /// password step).
    pub password: Option<(Password, Option<Password>)>,
}

/// What the writing step needs to go back to the drive step if the drive
/// is pulled out while the worker writes (the worker owns the rest).
pub struct Resume {
    /// Where.
    pub place: Place,
    /// File name.
    pub name: String,
    /// Profile.
    pub profile: Profile,
    /// A copy of the password, given back.
    pub password: Password,
}

/// What to do when the backup file is already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExistsChoice {
    /// Write under the first free name (`…-2.p12`).
    FreeName(String),
    /// Replace the file; the old one stays until the new one is verified.
    Replace,
}

/// The wizard's steps; each owns what it needs and moves it forward.
// The wizard is boxed in the app's screen; one step lives at a time.
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Which account.
    Account {
        /// Selected row.
        selected: usize,
    },
    /// Which drive (refreshes by itself).
    Drive {
        /// Drives now.
        drives: Vec<Drive>,
        /// Selected row (the last one is "other folder…").
        selected: usize,
        /// Every writable volume, not only removable ones.
        show_all: bool,
        /// Why the last choice was refused.
        error: Option<String>,
    },
    /// A typed folder.
    Folder {
        /// The path being typed.
        input: Input,
        /// Why it was refused.
        error: Option<String>,
    },
    /// File name and profile.
    Name {
        /// Where.
        place: Place,
        /// The file name.
        name: Input,
        /// The profile.
        profile: Profile,
        /// Focus.
        focus: NameFocus,
        /// Why it was refused.
        error: Option<String>,
    },
    /// The file is already there: a free name, or replace it (confirmed).
    Exists {
        /// Where.
        place: Place,
        /// The name typed (taken).
        name: String,
        /// Profile.
        profile: Profile,
        /// The existing file.
        file: PathBuf,
        /// The choices offered.
        choices: Vec<ExistsChoice>,
        /// Selected choice.
        selected: usize,
        /// The choice waiting for the yes key (only `Replace` asks).
        confirm: Option<ExistsChoice>,
    },
    /// Password and confirmation.
    Password {
        /// Where.
        place: Place,
        /// File name.
        name: String,
        /// The resolved destination.
        dest: Box<Destination>,
        /// Profile.
        profile: Profile,
        /// Warnings about the destination.
        warnings: Vec<String>,
        /// The password field.
        password: Input,
        /// The confirmation field.
        confirm: Input,
        /// Whether the confirmation has the focus.
        on_confirm: bool,
        /// The meter.
        strength: Option<Strength>,
        /// Whether the typed text is shown (masked by default; F2).
        visible: bool,
        /// Why the last try was refused (a code; words at display).
        error: Option<PasswordError>,
    },
    /// Everything before writing.
    Summary {
        /// Where.
        place: Place,
        /// File name.
        name: String,
        /// The resolved destination.
        dest: Box<Destination>,
        /// Profile.
        profile: Profile,
        /// Warnings.
        warnings: Vec<String>,
        /// The password, confirmed.
        password: Password,
    },
    /// The worker is writing and verifying.
    Writing {
        /// The file.
        path: PathBuf,
        /// Whether it is on a removable drive.
        removable: bool,
        /// Steps done so far.
        done: Vec<backup::Step>,
    },
    /// The result.
    Done {
        /// What happened.
        result: Result<BackupOutcome, String>,
        /// Whether the destination is a removable drive.
        removable: bool,
    },
}

/// The backup wizard.
pub struct BackupWizard {
    /// Accounts to choose from.
    pub accounts: Vec<AccountRow>,
    /// The chosen account.
    pub account: usize,
    /// The current step.
    pub step: Step,
    /// Today (for the default file name).
    pub today: OffsetDateTime,
    /// Spinner frame.
    pub spin: usize,
    /// Choices kept when the drive went away.
    pub kept: Option<Kept>,
    /// Why the wizard came back to the drive step (or, while writing, that
    /// the drive was pulled out).
    pub alert: Option<DriveAlert>,
    /// While writing: what to go back with if the drive is pulled out.
    pub resume: Option<Resume>,
    /// A failed write waiting for the drive list: pulled out (back to the
    /// drive step, choices kept) or still there (the failure is shown).
    pub failed: Option<String>,
}

/// The "show password" key: F2 or Ctrl+R (letters are text in a field).
pub fn is_reveal(key: KeyEvent) -> bool {
    key.code == KeyCode::F(2)
        || (key.code == KeyCode::Char('r') && key.modifiers.contains(KeyModifiers::CONTROL))
}

fn input_key(input: &mut Input, key: KeyEvent) {
    input.handle_event(&Event::Key(key));
}

impl BackupWizard {
    /// Starts on the account step with `selected` chosen.
    pub fn new(accounts: Vec<AccountRow>, selected: usize, today: OffsetDateTime) -> Self {
        Self {
            accounts,
            account: selected,
            step: Step::Account { selected },
            today,
            spin: 0,
            kept: None,
            alert: None,
            resume: None,
            failed: None,
        }
    }

    /// Starts on the drive step for the account selected on the home
    /// screen (Esc goes to the account step to choose another).
    pub fn for_account(
        accounts: Vec<AccountRow>,
        selected: usize,
        today: OffsetDateTime,
    ) -> (Self, Effect) {
        let mut w = Self::new(accounts, selected, today);
        w.step = Step::Drive {
            drives: Vec::new(),
            selected: 0,
            show_all: false,
            error: None,
        };
        (w, Effect::RefreshDrives(false))
    }

    fn account(&self) -> Option<&AccountRow> {
        self.accounts.get(self.account)
    }

    /// Whether a text field has the focus.
    pub fn typing(&self) -> bool {
        matches!(
            self.step,
            Step::Folder { .. }
                | Step::Password { .. }
                | Step::Name {
                    focus: NameFocus::Name,
                    ..
                }
        )
    }

    /// The drive list is refreshed every second while shown, and while a
    /// chosen drive is in use (to say at once when it is pulled out).
    pub fn on_tick(&mut self, ticks: u64) -> Option<Effect> {
        self.spin = usize::try_from(ticks % 4).unwrap_or(0);
        if ticks % 4 != 0 {
            return None;
        }
        match &self.step {
            Step::Drive { show_all, .. } => Some(Effect::RefreshDrives(*show_all)),
            _ if self.chosen_drive().is_some() => Some(Effect::RefreshDrives(true)),
            _ => None,
        }
    }

    /// The drive chosen, on the steps after the drive step.
    pub fn chosen_drive(&self) -> Option<&Drive> {
        match &self.step {
            Step::Name { place, .. }
            | Step::Exists { place, .. }
            | Step::Password { place, .. }
            | Step::Summary { place, .. } => place.drive.as_ref(),
            Step::Writing { .. } => self.resume.as_ref().and_then(|r| r.place.drive.as_ref()),
            _ => None,
        }
    }

    /// The chosen drive went away: back to the drive step, the other
    /// choices kept. While writing, the worker finishes first (it fails on
    /// its own drive check); the alert shows at once.
    fn drive_pulled(&mut self, name: String) -> Outcome {
        let step = std::mem::replace(&mut self.step, Step::Account { selected: 0 });
        let kept = match step {
            Step::Name {
                name: input,
                profile,
                ..
            } => Kept {
                name: input.value().trim().to_string(),
                profile,
                password: None,
            },
            Step::Exists { name, profile, .. } => Kept {
                name,
                profile,
                password: None,
            },
            Step::Password {
                name,
                profile,
                mut password,
                mut confirm,
                ..
            } => {
                let first = Password::new(password.value_and_reset()).ok();
                let second = Password::new(confirm.value_and_reset()).ok();
                Kept {
                    name,
                    profile,
                    password: first.map(|p| (p, second)),
                }
            }
            Step::Summary {
                name,
                profile,
                password,
                ..
            } => {
                let copy = Password::new(password.expose().to_string()).ok();
                Kept {
                    name,
                    profile,
                    password: Some((password, copy)),
                }
            }
            step @ Step::Writing { .. } => {
                self.step = step;
                self.alert = Some(DriveAlert::Removed(name));
                return Outcome::None;
            }
            other => {
                self.step = other;
                return Outcome::None;
            }
        };
        self.kept = Some(kept);
        self.alert = Some(DriveAlert::Removed(name));
        self.go_to_drive_step(false)
    }

    /// The write failed because the drive went: back to the drive step,
    /// the choices (name, profile, password) kept.
    fn back_after_failed_write(&mut self) -> Outcome {
        if let Some(Resume {
            name,
            profile,
            password,
            ..
        }) = self.resume.take()
        {
            let copy = Password::new(password.expose().to_string()).ok();
            self.kept = Some(Kept {
                name,
                profile,
                password: Some((password, copy)),
            });
        }
        self.go_to_drive_step(false)
    }

    fn go_to_drive_step(&mut self, show_all: bool) -> Outcome {
        self.step = Step::Drive {
            drives: Vec::new(),
            selected: 0,
            show_all,
            error: None,
        };
        Outcome::effect(Effect::RefreshDrives(show_all))
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        let account_count = self.accounts.len();
        let account_id = self.account().map(|a| a.id.clone()).unwrap_or_default();
        let words: Vec<String> = self
            .account()
            .map(|a| a.known_words.clone())
            .unwrap_or_default();
        match &mut self.step {
            Step::Account { selected } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(account_count.saturating_sub(1));
                    Outcome::None
                }
                KeyCode::Enter => {
                    self.account = *selected;
                    self.go_to_drive_step(false)
                }
                KeyCode::Esc => Outcome::Home,
                _ => Outcome::None,
            },
            Step::Drive {
                drives,
                selected,
                show_all,
                error,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(drives.len());
                    Outcome::None
                }
                KeyCode::Char('a') => {
                    *show_all = !*show_all;
                    Outcome::effect(Effect::RefreshDrives(*show_all))
                }
                KeyCode::Char('o') => {
                    self.step = Step::Folder {
                        input: Input::default(),
                        error: None,
                    };
                    Outcome::None
                }
                KeyCode::Enter => {
                    if *selected >= drives.len() {
                        self.step = Step::Folder {
                            input: Input::default(),
                            error: None,
                        };
                        return Outcome::None;
                    }
                    let drive = drives[*selected].clone();
                    *error = None;
                    Outcome::effect(Effect::CheckFolder(drive.mount_point.clone(), Some(drive)))
                }
                KeyCode::Esc => {
                    self.step = Step::Account {
                        selected: self.account,
                    };
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Step::Folder { input, error } => match key.code {
                KeyCode::Enter => {
                    let path = PathBuf::from(input.value().trim());
                    if input.value().trim().is_empty() {
                        *error = Some(t!("tui.type_a_folder"));
                        return Outcome::None;
                    }
                    Outcome::effect(Effect::CheckFolder(path, None))
                }
                KeyCode::Esc => self.go_to_drive_step(false),
                _ => {
                    input_key(input, key);
                    Outcome::None
                }
            },
            Step::Name {
                place,
                name,
                profile,
                focus,
                error,
            } => match (key.code, *focus) {
                (KeyCode::Tab | KeyCode::BackTab | KeyCode::Down, NameFocus::Name) => {
                    *focus = NameFocus::Profile;
                    Outcome::None
                }
                (KeyCode::Tab | KeyCode::BackTab | KeyCode::Up, NameFocus::Profile) => {
                    *focus = NameFocus::Name;
                    Outcome::None
                }
                (
                    KeyCode::Left | KeyCode::Right | KeyCode::Char(' ' | 'j' | 'k'),
                    NameFocus::Profile,
                ) => {
                    *profile = if *profile == Profile::Modern {
                        Profile::Compat
                    } else {
                        Profile::Modern
                    };
                    Outcome::None
                }
                (KeyCode::Enter, _) => {
                    let file = name.value().trim().to_string();
                    if file.is_empty() {
                        *error = Some(t!("tui.type_a_name"));
                        return Outcome::None;
                    }
                    *error = None;
                    Outcome::effect(Effect::PrepareDestination {
                        account: account_id,
                        dir: place.dir.clone(),
                        name: file,
                        drive: place.drive.clone(),
                        guard: place.guard.clone(),
                        overwrite: false,
                    })
                }
                (KeyCode::Esc, _) => self.go_to_drive_step(false),
                (_, NameFocus::Name) => {
                    input_key(name, key);
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Step::Exists {
                place,
                name,
                profile,
                choices,
                selected,
                confirm,
                ..
            } => {
                let prepare = |name: String, overwrite: bool| {
                    Outcome::effect(Effect::PrepareDestination {
                        account: account_id.clone(),
                        dir: place.dir.clone(),
                        name,
                        drive: place.drive.clone(),
                        guard: place.guard.clone(),
                        overwrite,
                    })
                };
                if let Some(choice) = confirm.take() {
                    // Only the explicit yes key replaces; any other key
                    // (Esc, Enter, n…) closes the question and stays.
                    if is_yes(key.code) && choice == ExistsChoice::Replace {
                        return prepare(name.clone(), true);
                    }
                    return Outcome::None;
                }
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        *selected = selected.saturating_sub(1);
                        Outcome::None
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        *selected = (*selected + 1).min(choices.len().saturating_sub(1));
                        Outcome::None
                    }
                    KeyCode::Enter => match choices.get(*selected).cloned() {
                        Some(ExistsChoice::FreeName(free)) => prepare(free, false),
                        Some(ExistsChoice::Replace) => {
                            *confirm = Some(ExistsChoice::Replace);
                            Outcome::None
                        }
                        None => Outcome::None,
                    },
                    KeyCode::Esc => {
                        let (place, name, profile) = (place.clone(), name.clone(), *profile);
                        self.step = Step::Name {
                            place,
                            name: Input::new(name),
                            profile,
                            focus: NameFocus::Name,
                            error: None,
                        };
                        Outcome::None
                    }
                    _ => Outcome::None,
                }
            }
            Step::Password {
                password,
                confirm,
                on_confirm,
                strength: meter,
                visible,
                error,
                ..
            } => match key.code {
                _ if is_reveal(key) => {
                    *visible = !*visible;
                    Outcome::None
                }
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                    *on_confirm = !*on_confirm;
                    Outcome::None
                }
                KeyCode::Enter if !*on_confirm => {
                    *on_confirm = true;
                    Outcome::None
                }
                KeyCode::Enter => {
                    // The texts leave the fields at once, into secrets.
                    let first = Password::new(password.value_and_reset());
                    let second = Password::new(confirm.value_and_reset());
                    *on_confirm = false;
                    *meter = None;
                    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                    let checked = match (first, second) {
                        (Ok(p), Ok(c)) => {
                            if p.matches(&c) {
                                check_new_password(p, &c, &refs)
                            } else {
                                // A typo: only the confirmation is typed again.
                                *password = Input::new(p.expose().to_string());
                                *meter = Some(strength(&p, &refs));
                                *on_confirm = true;
                                Err(PasswordError::Mismatch)
                            }
                        }
                        (Ok(p), Err(e)) => {
                            *password = Input::new(p.expose().to_string());
                            *meter = Some(strength(&p, &refs));
                            *on_confirm = true;
                            Err(e)
                        }
                        (Err(e), _) => Err(e),
                    };
                    match checked {
                        Ok(p) => {
                            self.step = match std::mem::replace(
                                &mut self.step,
                                Step::Account { selected: 0 },
                            ) {
                                Step::Password {
                                    place,
                                    name,
                                    dest,
                                    profile,
                                    mut warnings,
                                    ..
                                } => {
                                    if !p.is_ascii() {
                                        warnings.push(t!("password.non_ascii"));
                                    }
                                    Step::Summary {
                                        place,
                                        name,
                                        dest,
                                        profile,
                                        warnings,
                                        password: p,
                                    }
                                }
                                other => other,
                            };
                        }
                        Err(e) => *error = Some(e),
                    }
                    Outcome::None
                }
                KeyCode::Esc => {
                    if let Step::Password {
                        place,
                        name,
                        profile,
                        ..
                    } = std::mem::replace(&mut self.step, Step::Account { selected: 0 })
                    {
                        self.step = Step::Name {
                            place,
                            name: Input::new(name),
                            profile,
                            focus: NameFocus::Name,
                            error: None,
                        };
                    }
                    Outcome::None
                }
                _ => {
                    // The old error goes once the user types again.
                    *error = None;
                    if *on_confirm {
                        input_key(confirm, key);
                    } else {
                        input_key(password, key);
                        *meter = Password::new(password.value().to_string()).ok().map(|p| {
                            strength(&p, &words.iter().map(String::as_str).collect::<Vec<_>>())
                        });
                    }
                    Outcome::None
                }
            },
            Step::Summary { .. } => match key.code {
                KeyCode::Enter => {
                    let Step::Summary {
                        place,
                        name,
                        dest,
                        profile,
                        password,
                        ..
                    } = std::mem::replace(&mut self.step, Step::Account { selected: 0 })
                    else {
                        return Outcome::None;
                    };
                    let removable = dest.drive.as_ref().is_some_and(|d| d.removable);
                    let Ok(copy) = Password::new(password.expose().to_string()) else {
                        return Outcome::None;
                    };
                    self.resume = Some(Resume {
                        place,
                        name,
                        profile,
                        password: copy,
                    });
                    self.alert = None;
                    self.step = Step::Writing {
                        path: dest.file.clone(),
                        removable,
                        done: Vec::new(),
                    };
                    Outcome::effect(Effect::WriteBackup {
                        account: account_id,
                        dest,
                        password,
                        profile,
                    })
                }
                KeyCode::Esc => {
                    if let Step::Summary {
                        place,
                        name,
                        dest,
                        profile,
                        warnings,
                        ..
                    } = std::mem::replace(&mut self.step, Step::Account { selected: 0 })
                    {
                        self.step = password_step(place, name, dest, profile, warnings, None);
                    }
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Step::Writing { .. } => Outcome::None,
            Step::Done { .. } => match key.code {
                KeyCode::Enter | KeyCode::Esc => Outcome::Home,
                _ => Outcome::None,
            },
        }
    }

    /// Handles a worker's message.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        let label = self.account().map(|a| a.label.clone()).unwrap_or_default();
        if let Msg::Drives(list) = &msg {
            if let Some(d) = self.chosen_drive() {
                let gone = !list.iter().any(|n| n.mount_point == d.mount_point);
                let name = d.display_name();
                let removable = d.removable;
                if let Some(error) = self.failed.take() {
                    if gone {
                        self.alert = Some(DriveAlert::Removed(name));
                        return self.back_after_failed_write();
                    }
                    self.resume = None;
                    self.step = Step::Done {
                        result: Err(error),
                        removable,
                    };
                    return Outcome::None;
                }
                if gone {
                    return self.drive_pulled(name);
                }
                return Outcome::None;
            }
        }
        match (msg, &mut self.step) {
            (
                Msg::Drives(list),
                Step::Drive {
                    drives,
                    selected,
                    error,
                    ..
                },
            ) => {
                let was_drive = *selected < drives.len();
                let gone = super::app::merge_drives(drives, selected, list);
                if !gone.is_empty() {
                    // The selection stays on a drive, never jumps silently
                    // to "other folder…".
                    if was_drive && !drives.is_empty() {
                        *selected = (*selected).min(drives.len() - 1);
                    }
                    let names = gone.join(", ");
                    *error = Some(t!("tui.drive_removed", name = names));
                    self.alert = Some(DriveAlert::Removed(names));
                }
                Outcome::None
            }
            (
                Msg::FolderChecked(Ok((dir, drive, guard))),
                Step::Drive { .. } | Step::Folder { .. },
            ) => {
                self.alert = None;
                let (name, profile) = match &self.kept {
                    Some(k) if !k.name.is_empty() => (k.name.clone(), k.profile),
                    _ => (default_file_name(&label, self.today), Profile::Modern),
                };
                self.step = Step::Name {
                    place: Place { dir, drive, guard },
                    name: Input::new(name),
                    profile,
                    focus: NameFocus::Name,
                    error: None,
                };
                Outcome::None
            }
            (
                Msg::FolderChecked(Err(e)),
                Step::Drive { error, .. } | Step::Folder { error, .. },
            )
            | (Msg::DestinationReady(Err(e)), Step::Name { error, .. }) => {
                *error = Some(e);
                Outcome::None
            }
            (Msg::DestinationReady(Err(e)), Step::Exists { .. }) => {
                if let Step::Exists {
                    place,
                    name,
                    profile,
                    ..
                } = std::mem::replace(&mut self.step, Step::Account { selected: 0 })
                {
                    self.step = Step::Name {
                        place,
                        name: Input::new(name),
                        profile,
                        focus: NameFocus::Name,
                        error: Some(e),
                    };
                }
                Outcome::None
            }
            (Msg::DestinationExists { file, free }, Step::Name { .. } | Step::Exists { .. }) => {
                let (place, name, profile) =
                    match std::mem::replace(&mut self.step, Step::Account { selected: 0 }) {
                        Step::Name {
                            place,
                            name,
                            profile,
                            ..
                        } => (place, name.value().trim().to_string(), profile),
                        Step::Exists {
                            place,
                            name,
                            profile,
                            ..
                        } => (place, name, profile),
                        _ => return Outcome::None,
                    };
                let mut choices: Vec<ExistsChoice> =
                    free.into_iter().map(ExistsChoice::FreeName).collect();
                choices.push(ExistsChoice::Replace);
                self.step = Step::Exists {
                    place,
                    name,
                    profile,
                    file,
                    choices,
                    selected: 0,
                    confirm: None,
                };
                Outcome::None
            }
            (
                Msg::DestinationReady(Ok((dest, warnings))),
                Step::Name { .. } | Step::Exists { .. },
            ) => {
                let (Step::Name { place, profile, .. } | Step::Exists { place, profile, .. }) =
                    std::mem::replace(&mut self.step, Step::Account { selected: 0 })
                else {
                    return Outcome::None;
                };
                let name = dest
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kept = self.kept.take().and_then(|k| k.password);
                let words: Vec<String> = self
                    .account()
                    .map(|a| a.known_words.clone())
                    .unwrap_or_default();
                self.step = password_step(place, name, dest, profile, warnings, kept);
                if let Step::Password {
                    password,
                    strength: meter,
                    ..
                } = &mut self.step
                {
                    // A kept password is measured as if just typed.
                    *meter = Password::new(password.value().to_string()).ok().map(|p| {
                        strength(&p, &words.iter().map(String::as_str).collect::<Vec<_>>())
                    });
                }
                Outcome::None
            }
            (Msg::BackupStep(s), Step::Writing { done, .. }) => {
                done.push(s);
                Outcome::None
            }
            (Msg::BackupDone(Err(_)), Step::Writing { .. }) if self.alert.is_some() => {
                // Pulled out while writing: the worker failed on its drive
                // check; back to the drive step with the choices.
                self.back_after_failed_write()
            }
            (Msg::BackupDone(Err(e)), Step::Writing { .. })
                if self.failed.is_none()
                    && self
                        .resume
                        .as_ref()
                        .is_some_and(|r| r.place.drive.is_some()) =>
            {
                // Failed on a drive, pulled out before the poll saw it
                // maybe: the drive list decides (see the `Drives` message).
                self.failed = Some(e);
                Outcome::effect(Effect::RefreshDrives(true))
            }
            (Msg::BackupDone(result), Step::Writing { removable, .. }) => {
                let removable = *removable;
                self.resume = None;
                self.alert = None;
                self.step = Step::Done { result, removable };
                Outcome::None
            }
            _ => Outcome::None,
        }
    }
}

fn password_step(
    place: Place,
    name: String,
    dest: Box<Destination>,
    profile: Profile,
    warnings: Vec<String>,
    kept: Option<(Password, Option<Password>)>,
) -> Step {
    let (password, confirm) = match kept {
        Some((p, c)) => (
            Input::new(p.expose().to_string()),
            c.map_or_else(Input::default, |c| Input::new(c.expose().to_string())),
        ),
        None => (Input::default(), Input::default()),
    };
    let warnings = warnings
        .into_iter()
        .filter(|w| *w != t!("password.non_ascii"))
        .collect();
    // Both kept: the focus on the confirmation, so one Enter goes on.
    let on_confirm = !confirm.value().is_empty();
    Step::Password {
        place,
        name,
        dest,
        profile,
        warnings,
        password,
        confirm,
        on_confirm,
        strength: None,
        visible: false,
        error: None,
    }
}

/// The key hints of the current step.
pub fn hints(w: &BackupWizard) -> Vec<(&'static str, String)> {
    let back = ("Esc", t!("tui.key_back"));
    let help = ("F1", t!("tui.key_help"));
    match &w.step {
        Step::Exists {
            confirm: Some(_), ..
        } => vec![
            ("o/y", t!("tui.key_yes_replace")),
            ("Esc", t!("tui.key_stay")),
        ],
        Step::Account { .. } | Step::Exists { .. } => vec![
            ("↑↓", t!("tui.key_choose")),
            ("Enter", t!("tui.key_next")),
            back,
            ("?", t!("tui.key_help")),
        ],
        Step::Drive { .. } => vec![
            ("Enter", t!("tui.key_next")),
            ("a", t!("tui.key_all_disks")),
            ("o", t!("tui.key_other_folder")),
            back,
        ],
        Step::Folder { .. } => vec![("Enter", t!("tui.key_next")), back, help],
        Step::Name { .. } => vec![
            ("Tab", t!("tui.key_switch")),
            ("←→", t!("tui.key_profile")),
            ("Enter", t!("tui.key_next")),
            back,
        ],
        Step::Password { visible, .. } => vec![
            ("Tab", t!("tui.key_switch")),
            ("Enter", t!("tui.key_next")),
            (
                "F2",
                if *visible {
                    t!("tui.key_hide_password")
                } else {
                    t!("tui.key_show_password")
                },
            ),
            back,
            help,
        ],
        Step::Summary { .. } => vec![
            ("Enter", t!("tui.key_write")),
            back,
            ("q", t!("tui.key_quit")),
        ],
        Step::Writing { .. } => vec![("", t!("tui.writing_wait"))],
        Step::Done { .. } => vec![("Enter", t!("tui.key_home"))],
    }
}

/// The help lines of the current step.
pub fn help(w: &BackupWizard) -> Vec<String> {
    let mut lines = widgets::help_lines(hints(w));
    if matches!(w.step, Step::Password { .. }) {
        lines.push(t!("tui.help_show_password"));
    }
    lines
}

fn step_title(w: &BackupWizard) -> String {
    let (n, key) = match &w.step {
        Step::Account { .. } => (1, "tui.backup_step_account"),
        Step::Drive { .. } | Step::Folder { .. } => (2, "tui.backup_step_drive"),
        Step::Name { .. } | Step::Exists { .. } => (3, "tui.backup_step_name"),
        Step::Password { .. } => (4, "tui.backup_step_password"),
        Step::Summary { .. } => (5, "tui.backup_step_summary"),
        Step::Writing { .. } => (6, "tui.backup_step_writing"),
        Step::Done { .. } => (7, "tui.backup_step_done"),
    };
    t!("tui.backup_title", step = n, name = t!(key))
}

/// Draws the wizard's body.
///
/// ```text
/// ┌ Backup — step 2/7: drive ───────────────────────┐
/// │ account: Dr Durand                              │
/// │ > CLE_USB   /media/CLE_USB   exfat  28 MiB free │
/// │   Other folder…                                 │
/// │ (error or advice)                               │
/// └─────────────────────────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme, w: &BackupWizard) {
    let outer = block(theme, &step_title(w));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let label = w.account().map(|a| a.label.clone()).unwrap_or_default();
    match &w.step {
        Step::Account { selected } => {
            let items: Vec<String> = w
                .accounts
                .iter()
                .map(|a| {
                    if a.name.is_empty() || a.name == a.label {
                        a.label.clone()
                    } else {
                        format!("{}  ({})", a.label, a.name)
                    }
                })
                .collect();
            let mut lines = vec![
                Line::from(Span::styled(t!("tui.choose_account"), theme.text())),
                Line::default(),
            ];
            lines.extend(list_lines(theme, &items, *selected));
            frame.render_widget(Paragraph::new(widgets::safe_lines(lines)), inner);
        }
        Step::Drive {
            drives,
            selected,
            show_all,
            error,
        } => {
            let [head, list, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Min(2),
                Constraint::Length(3),
            ])
            .areas(inner);
            let head_text = if *show_all {
                t!("tui.all_volumes")
            } else {
                t!("tui.choose_drive", label = label)
            };
            frame.render_widget(wrapped(head_text, theme.text()), head);
            let mut items: Vec<String> = drives
                .iter()
                .map(|d| {
                    let mut flags = Vec::new();
                    if d.read_only {
                        flags.push(t!("drives.read_only"));
                    }
                    if !d.removable {
                        flags.push(t!("tui.not_removable"));
                    }
                    format!(
                        "{:<12} {:<22} {:<8} {} {}{}",
                        d.display_name(),
                        d.mount_point.display(),
                        d.file_system,
                        crate::domain::drives::human_bytes(d.available_bytes),
                        t!("tui.free"),
                        if flags.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", flags.join(", "))
                        }
                    )
                })
                .collect();
            items.push(t!("tui.other_folder"));
            let mut lines = Vec::new();
            if drives.is_empty() {
                lines.push(Line::from(Span::styled(
                    t!("tui.no_drive_yet"),
                    theme.muted(),
                )));
            }
            lines.extend(list_lines(theme, &items, *selected));
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: false }),
                list,
            );
            if let Some(e) = error {
                frame.render_widget(error_par(theme, e), foot);
            } else if let Some(a) = &w.alert {
                frame.render_widget(alert_par(theme, a, w.kept.is_some()), foot);
            }
        }
        Step::Folder { input, error } => {
            let [head, field, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Length(1),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(wrapped(t!("tui.type_folder"), theme.text()), head);
            input_field(frame, field, theme, &t!("tui.folder"), input, false, true);
            if let Some(e) = error {
                frame.render_widget(error_par(theme, e), foot);
            }
        }
        Step::Name {
            place,
            name,
            profile,
            focus,
            error,
        } => {
            let [where_, field, prof, desc, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Length(2),
                Constraint::Length(3),
                Constraint::Length(3),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(
                wrapped(t!("tui.folder_is", dir = place.dir.display()), theme.text()),
                where_,
            );
            input_field(
                frame,
                field,
                theme,
                &t!("tui.file_name"),
                name,
                false,
                *focus == NameFocus::Name,
            );
            let opts = [Profile::Modern, Profile::Compat]
                .iter()
                .map(|p| {
                    let mark = if p == profile { "(x)" } else { "( )" };
                    let text = format!("{mark} {}", t!(&format!("tui.profile_{}", p.name())));
                    if p == profile && *focus == NameFocus::Profile {
                        Line::from(Span::styled(text, theme.selected()))
                    } else {
                        Line::from(Span::styled(text, theme.text()))
                    }
                })
                .collect::<Vec<_>>();
            let mut lines = vec![Line::from(Span::styled(
                t!("tui.restored_where"),
                theme.text(),
            ))];
            lines.extend(opts);
            frame.render_widget(Paragraph::new(widgets::safe_lines(lines)), prof);
            frame.render_widget(
                wrapped(
                    t!(&format!("tui.profile_{}_detail", profile.name())),
                    theme.muted(),
                ),
                desc,
            );
            if let Some(e) = error {
                frame.render_widget(error_par(theme, e), foot);
            }
        }
        Step::Exists {
            file,
            choices,
            selected,
            confirm,
            ..
        } => render_exists(
            frame,
            inner,
            theme,
            file,
            choices,
            *selected,
            confirm.is_some(),
        ),
        Step::Password {
            password,
            confirm,
            on_confirm,
            strength,
            visible,
            error,
            warnings,
            ..
        } => {
            // The intro as tall as its words need, the fields and the
            // meter keeping their rows.
            let intro_text = vec![Line::from(t!("tui.password_intro"))];
            let intro_rows = u16::try_from(widgets::rows(&intro_text, inner.width))
                .unwrap_or(u16::MAX)
                .clamp(3, inner.height.saturating_sub(7).max(3));
            let [intro, f1, meter, f2, foot] = Layout::vertical([
                Constraint::Length(intro_rows),
                Constraint::Length(1),
                Constraint::Length(3),
                Constraint::Length(2),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(wrapped(t!("tui.password_intro"), theme.text()), intro);
            // The focused field is marked in words too (`>`), not only by
            // its style and the cursor (a plain terminal shows neither well).
            let label = |key: &str, focused: bool| {
                format!("{}{}", if focused { "> " } else { "  " }, t!(key))
            };
            input_field(
                frame,
                f1,
                theme,
                &label("tui.password", !*on_confirm),
                password,
                !*visible,
                !*on_confirm,
            );
            frame.render_widget(meter_par(theme, strength.as_ref()), meter);
            input_field(
                frame,
                f2,
                theme,
                &label("tui.confirm", *on_confirm),
                confirm,
                !*visible,
                *on_confirm,
            );
            let mut lines = Vec::new();
            if let Some(e) = error {
                // A refused password is a mistake to fix, not a failure.
                lines.push(Line::from(vec![
                    widgets::level_span(theme, Level::Warning),
                    Span::raw(" "),
                    Span::styled(e.to_string(), theme.text()),
                ]));
            }
            for wmsg in warnings {
                lines.push(Line::from(vec![
                    widgets::level_span(theme, Level::Warning),
                    Span::raw(" "),
                    Span::styled(wmsg.clone(), theme.text()),
                ]));
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                foot,
            );
        }
        Step::Summary {
            dest,
            profile,
            warnings,
            ..
        } => {
            let mut lines = vec![
                kv(theme, &t!("show.account"), &label),
                kv(
                    theme,
                    &t!("tui.drive"),
                    &dest.drive.as_ref().filter(|d| d.removable).map_or_else(
                        || t!("tui.folder_plain"),
                        |d| format!("{} ({})", d.display_name(), d.mount_point.display()),
                    ),
                ),
                kv(theme, &t!("show.file"), &dest.file.display().to_string()),
                kv(
                    theme,
                    &t!("tui.profile"),
                    &t!(&format!("tui.profile_{}", profile.name())),
                ),
                Line::default(),
            ];
            for wmsg in warnings {
                lines.push(Line::from(vec![
                    widgets::level_span(theme, Level::Warning),
                    Span::raw(" "),
                    Span::styled(wmsg.clone(), theme.text()),
                ]));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                t!("tui.summary_next"),
                theme.text(),
            )));
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                inner,
            );
        }
        Step::Writing { path, done, .. } => {
            let mut lines = vec![
                Line::from(Span::styled(
                    format!(
                        "{} {}",
                        SPINNER[w.spin % 4],
                        t!("tui.writing", path = path.display())
                    ),
                    theme.text(),
                )),
                Line::default(),
            ];
            for s in done {
                lines.push(Line::from(vec![
                    widgets::level_span(theme, Level::Ok),
                    Span::styled(format!(" {}", step_words(*s)), theme.text()),
                ]));
            }
            if let Some(DriveAlert::Removed(name)) = &w.alert {
                lines.push(Line::default());
                lines.push(level_line(
                    theme,
                    Level::Critical,
                    t!("tui.drive_pulled_writing", name = name),
                ));
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                inner,
            );
        }
        Step::Done {
            result: Ok(outcome),
            removable,
        } => {
            let mut lines = vec![
                Line::from(vec![
                    widgets::level_span(theme, Level::Ok),
                    Span::styled(format!(" {}", t!("tui.backup_ok")), theme.text()),
                ]),
                kv(theme, &t!("show.file"), &outcome.path.display().to_string()),
                kv(theme, &t!("show.fingerprint"), &outcome.fingerprint),
                Line::default(),
            ];
            for s in &outcome.checks {
                lines.push(Line::from(vec![
                    widgets::level_span(theme, Level::Ok),
                    Span::styled(format!(" {}", step_words(*s)), theme.text()),
                ]));
            }
            // The eject advice and the password reminder get their own room
            // at the bottom, wrapped, so they are never cut; the checks above
            // give way first.
            let mut tail = Vec::new();
            if *removable {
                tail.push(Line::from(Span::styled(
                    t!("backup.done_eject"),
                    theme.accent(),
                )));
            }
            tail.push(Line::from(Span::styled(
                t!("tui.password_reminder"),
                theme.text(),
            )));
            let tail = Paragraph::new(widgets::safe_lines(tail))
                .wrap(ratatui::widgets::Wrap { trim: true });
            let need = u16::try_from(tail.line_count(inner.width)).unwrap_or(u16::MAX);
            let [top, bottom] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(need)]).areas(inner);
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                top,
            );
            frame.render_widget(tail, bottom);
        }
        Step::Done { result: Err(e), .. } => {
            let lines = vec![
                Line::from(vec![
                    widgets::level_span(theme, Level::Critical),
                    Span::styled(format!(" {}", t!("tui.backup_failed")), theme.text()),
                ]),
                Line::default(),
                Line::from(Span::styled(e.clone(), theme.text())),
                Line::default(),
                Line::from(Span::styled(t!("tui.nothing_recorded"), theme.muted())),
            ];
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                inner,
            );
        }
    }
}

/// The file already exists: the choices, and the replace question.
///
/// ```text
/// │ /media/CLE/certsafe-Dr-Durand-2026-11-24.p12 is already there. │
/// │ > Use a free name: certsafe-Dr-Durand-2026-11-24-2.p12         │
/// │   Replace it (the old file is kept until the new one is …)     │
/// │ [WARNING] Replace …? o/y: replace · any other key: stay        │
/// ```
fn render_exists(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    file: &std::path::Path,
    choices: &[ExistsChoice],
    selected: usize,
    asking: bool,
) {
    let items: Vec<String> = choices
        .iter()
        .map(|c| match c {
            ExistsChoice::FreeName(n) => t!("tui.exists_free_name", name = n),
            ExistsChoice::Replace => t!("tui.exists_replace"),
        })
        .collect();
    let mut lines = vec![
        Line::from(Span::styled(
            t!("tui.exists_intro", path = file.display()),
            theme.text(),
        )),
        Line::default(),
    ];
    lines.extend(list_lines(theme, &items, selected));
    if !choices
        .iter()
        .any(|c| matches!(c, ExistsChoice::FreeName(_)))
    {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            t!("tui.exists_no_free"),
            theme.muted(),
        )));
    }
    if asking {
        lines.push(Line::default());
        lines.push(level_line(
            theme,
            Level::Warning,
            t!("tui.exists_confirm", path = file.display()),
        ));
    }
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines)).wrap(ratatui::widgets::Wrap { trim: false }),
        area,
    );
}

fn alert_par(theme: &Theme, a: &DriveAlert, kept: bool) -> Paragraph<'static> {
    let DriveAlert::Removed(name) = a;
    let mut text = t!("tui.drive_removed", name = name);
    if kept {
        text = format!("{text} {}", t!("tui.choices_kept"));
    }
    Paragraph::new(level_line(theme, Level::Warning, text))
        .wrap(ratatui::widgets::Wrap { trim: true })
}

fn error_par(theme: &Theme, e: &str) -> Paragraph<'static> {
    Paragraph::new(level_line(theme, Level::Critical, e.to_string()))
        .wrap(ratatui::widgets::Wrap { trim: true })
}

fn meter_par(theme: &Theme, s: Option<&Strength>) -> Paragraph<'static> {
    let Some(s) = s else {
        return Paragraph::new(Line::from(Span::styled(
            t!("tui.meter_empty"),
            theme.muted(),
        )));
    };
    let filled = usize::from(s.score) + 1;
    let bar = format!(
        "[{}{}]",
        "#".repeat(filled * 4),
        ".".repeat((5 - filled) * 4)
    );
    // One level for one verdict: accepted (ok) or not yet (warning), the
    // same level as the refusal shown after Enter.
    let level = if s.acceptable() {
        Level::Ok
    } else {
        Level::Warning
    };
    let verdict = if s.acceptable() {
        t!("tui.meter_ok")
    } else {
        t!("tui.meter_weak")
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(bar, theme.level(level)),
        Span::styled(
            format!(" {} — {verdict}", strength_words(s.score)),
            theme.text(),
        ),
    ])];
    if !s.acceptable() {
        lines.push(Line::from(Span::styled(s.advice(), theme.muted())));
    }
    Paragraph::new(widgets::safe_lines(lines)).wrap(ratatui::widgets::Wrap { trim: true })
}
