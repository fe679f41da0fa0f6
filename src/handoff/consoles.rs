//! The consoles connected now: their registry, the frames sent to all of them or to
//! one account's, closing them (logout, expiry, an account disabled), and the report
//! frames every console hears. Its one std mutex guards a map and is held only to
//! queue frames with `try_send`: never across IO or an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::mpsc;

use super::accounts::Intervenor;
use crate::messages::{say, Text};
use crate::protocol::{ConsoleServerFrame, ErrorCode, ReportItem};
use crate::reports::{ReportError, Reports};

/// What a console's socket task sends.
#[derive(Debug)]
pub enum ConsoleOut {
    Frame(String),
    Close(u16),
}

/// The close code of a console whose login ended (logout, expiry, account change).
const LOGIN_ENDED: u16 = 4001;

struct Console {
    who: Intervenor,
    tx: mpsc::Sender<ConsoleOut>,
}

/// The console sockets open now, by connection number. Written by attach and detach
/// (the console socket task); read by every sender of console frames.
#[derive(Default)]
pub(crate) struct ConsoleHub {
    consoles: Mutex<HashMap<u64, Console>>,
    next: AtomicU64,
}

impl ConsoleHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Console>> {
        self.consoles.lock().expect("console lock poisoned")
    }

    /// Registers a console; returns its connection number.
    pub(crate) fn attach(&self, who: Intervenor, tx: mpsc::Sender<ConsoleOut>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().insert(id, Console { who, tx });
        id
    }

    /// Forgets a console; returns who it was.
    pub(crate) fn detach(&self, id: u64) -> Option<Intervenor> {
        self.lock().remove(&id).map(|console| console.who)
    }

    /// Console sockets open now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether an account has a console open now.
    pub(crate) fn is_connected(&self, login: &str) -> bool {
        self.lock().values().any(|c| c.who.login == login)
    }

    /// The logins with a console open now.
    pub(crate) fn logins(&self) -> HashSet<String> {
        self.lock().values().map(|c| c.who.login.clone()).collect()
    }

    /// The names of the connected accounts among `logins`, sorted, once each.
    pub(crate) fn names_among(&self, logins: &HashSet<String>) -> Vec<String> {
        let mut names: Vec<String> = self
            .lock()
            .values()
            .filter(|c| logins.contains(&c.who.login))
            .map(|c| c.who.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Sends a frame to every console.
    pub(crate) fn broadcast(&self, frame: &ConsoleServerFrame) {
        let text = frame.to_frame();
        for console in self.lock().values() {
            let _ = console.tx.try_send(ConsoleOut::Frame(text.clone()));
        }
    }

    /// Sends a frame to every console of one account; returns how many took it.
    pub(crate) fn send_to_login(&self, login: &str, frame: &ConsoleServerFrame) -> usize {
        let text = frame.to_frame();
        self.lock()
            .values()
            .filter(|c| c.who.login == login)
            .filter(|c| c.tx.try_send(ConsoleOut::Frame(text.clone())).is_ok())
            .count()
    }

    /// Closes the consoles signed in with a token (logout).
    pub(crate) fn close_token(&self, token_key: &[u8; 32]) {
        self.close_where(|who| who.token_key == *token_key);
    }

    /// Closes every console of an account (disabled, removed, its role changed).
    pub(crate) fn close_login(&self, login: &str) {
        self.close_where(|who| who.login == login);
    }

    /// Closes the consoles `ended` picks (their login ended).
    pub(crate) fn close_where(&self, ended: impl Fn(&Intervenor) -> bool) {
        for console in self.lock().values() {
            if ended(&console.who) {
                let _ = console.tx.try_send(ConsoleOut::Close(LOGIN_ENDED));
            }
        }
    }

    /// A report was made or changed: every console gets it (`report_changed`); with
    /// `new` and "danger now", the urgent alert too. When the store cannot read it,
    /// the cause is logged and the consoles are told something went wrong.
    pub(crate) fn report_changed(&self, reports: &Reports, id: u64, new: bool) {
        let record = match reports.record(id) {
            Ok(record) => record,
            // Gone (deleted or erased meanwhile): nothing to show.
            Err(ReportError::NotFound | ReportError::Erased) => return,
            Err(e) => {
                tracing::error!(error = %e, "a changed report could not be read for the consoles");
                self.broadcast(&ConsoleServerFrame::Error {
                    code: ErrorCode::Internal,
                    message: say("fr", Text::Internal).into(),
                    handoff: None,
                });
                return;
            }
        };
        if new && record.danger {
            self.broadcast(&ConsoleServerFrame::ReportAlert { report: id });
        }
        self.broadcast(&ConsoleServerFrame::ReportChanged {
            item: ReportItem::from(&record),
        });
    }
}
