//! Worker answers tied to the request that started them: every load the app
//! asks for gets a number, and an answer whose number is not the latest of
//! its kind is dropped (a second reload overtaken by the first, a CRL list
//! arriving after the user left and came back to the screen).

/// What a load brings back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Accounts and alerts of the home screen.
    Home,
    /// The CRLs and correspondents.
    Crls,
    /// One account's details (account screen).
    Account(String),
}

/// The kinds of load, one latest request each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`Load::Home`].
    Home,
    /// [`Load::Crls`].
    Crls,
    /// [`Load::Account`].
    Account,
}

impl Load {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Home => Kind::Home,
            Self::Crls => Kind::Crls,
            Self::Account(_) => Kind::Account,
        }
    }
}

/// One request: its kind and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The kind of load.
    pub kind: Kind,
    /// Its number (counted by the app, from 1).
    pub id: u64,
}

/// The app's counter and the latest request of each kind.
#[derive(Debug, Default)]
pub struct Requests {
    next: u64,
    latest: [u64; 3],
}

impl Requests {
    fn slot(kind: Kind) -> usize {
        match kind {
            Kind::Home => 0,
            Kind::Crls => 1,
            Kind::Account => 2,
        }
    }

    /// A new request of `kind`, which becomes the latest of its kind.
    pub fn issue(&mut self, kind: Kind) -> Request {
        self.next += 1;
        self.latest[Self::slot(kind)] = self.next;
        Request {
            kind,
            id: self.next,
        }
    }

    /// Whether `req` is the latest of its kind (its answer is wanted).
    pub fn is_latest(&self, req: Request) -> bool {
        req.id != 0 && self.latest[Self::slot(req.kind)] == req.id
    }

    /// No answer of `kind` is wanted any more (the screen was left).
    pub fn forget(&mut self, kind: Kind) {
        self.latest[Self::slot(kind)] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_of_a_kind_is_wanted() {
        let mut r = Requests::default();
        let first = r.issue(Kind::Home);
        let crls = r.issue(Kind::Crls);
        let second = r.issue(Kind::Home);
        assert!(!r.is_latest(first));
        assert!(r.is_latest(second));
        assert!(r.is_latest(crls), "kinds are counted apart");
        r.forget(Kind::Crls);
        assert!(!r.is_latest(crls));
    }
}
