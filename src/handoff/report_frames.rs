//! What the consoles hear when a report changes: that one report, not the whole
//! list (which grew with every report and went to every console at every change).

use super::Handoffs;
use crate::protocol::{ConsoleServerFrame, ReportItem};
use crate::reports::Reports;

impl Handoffs {
    /// A report was made or changed: every console gets it (`report_changed`); with
    /// `new` and "danger now", the urgent alert too.
    pub fn report_changed(&self, reports: &Reports, id: u64, new: bool) {
        let Ok(record) = reports.record(id) else {
            return;
        };
        if new && record.danger {
            self.broadcast(&ConsoleServerFrame::ReportAlert { report: id });
        }
        self.broadcast(&ConsoleServerFrame::ReportChanged {
            item: ReportItem::from(&record),
        });
    }
}
