//! The queue of open requests for a person, as data: no IO, no lock, no clock.
//!
//! Order: urgent first, then those put back after a lost holder, then oldest, then by
//! id. The order and every waiting request's position are computed once per change
//! (`O(n log n)`), so reading a position is a map look-up; the positions each youth
//! was last told are kept here too, so a change tells only those whose place moved.

use std::collections::{BTreeMap, HashMap};

use crate::store::records::{HandoffRecord, HandoffState};

/// Open requests (waiting or claimed), their order, and what each youth was told.
#[derive(Debug, Default, Clone)]
pub(crate) struct Queue {
    /// Open requests, by id.
    requests: BTreeMap<u64, HandoffRecord>,
    /// The client key (salted hash of the address, memory only) of each request.
    clients: HashMap<u64, String>,
    /// The position each waiting youth was last told.
    told: HashMap<u64, usize>,
    /// Every open request's id, in queue order (recomputed after each change).
    order: Vec<u64>,
    /// The position (from 1) of each waiting request (recomputed with `order`).
    positions: HashMap<u64, usize>,
}

impl Queue {
    /// A queue holding these open requests (closed ones are left out).
    pub(crate) fn new(records: impl IntoIterator<Item = HandoffRecord>) -> Self {
        let mut queue = Self::default();
        for record in records {
            if record.closed_ms.is_none() {
                queue.requests.insert(record.id, record);
            }
        }
        queue.reorder();
        queue
    }

    /// Adds a request, with the client key it counts against.
    pub(crate) fn insert(&mut self, record: HandoffRecord, client: Option<String>) {
        let id = record.id;
        self.requests.insert(id, record);
        if let Some(client) = client {
            self.clients.insert(id, client);
        }
        self.reorder();
    }

    /// Takes a request out (closed, left, abandoned); what its youth was told goes too.
    pub(crate) fn remove(&mut self, id: u64) -> Option<HandoffRecord> {
        self.clients.remove(&id);
        self.told.remove(&id);
        let removed = self.requests.remove(&id);
        if removed.is_some() {
            self.reorder();
        }
        removed
    }

    pub(crate) fn get(&self, id: u64) -> Option<&HandoffRecord> {
        self.requests.get(&id)
    }

    /// Changes a request, then puts the queue back in order.
    pub(crate) fn update<R>(
        &mut self,
        id: u64,
        change: impl FnOnce(&mut HandoffRecord) -> R,
    ) -> Option<R> {
        let record = self.requests.get_mut(&id)?;
        let before = (queue_order(record), record.state == HandoffState::Waiting);
        let result = change(record);
        // Only a change of place costs a new order (a transcript line does not).
        if (queue_order(record), record.state == HandoffState::Waiting) != before {
            self.reorder();
        }
        Some(result)
    }

    /// Changes every request `change` picks (it returns `true` for a changed one),
    /// then puts the queue back in order once; returns the ids changed.
    pub(crate) fn update_all(
        &mut self,
        mut change: impl FnMut(&mut HandoffRecord) -> bool,
    ) -> Vec<u64> {
        let changed: Vec<u64> = self
            .requests
            .values_mut()
            .filter_map(|record| change(record).then_some(record.id))
            .collect();
        if !changed.is_empty() {
            self.reorder();
        }
        changed
    }

    /// Where a waiting request stands (from 1); `None` once claimed or gone.
    pub(crate) fn position(&self, id: u64) -> Option<usize> {
        self.positions.get(&id).copied()
    }

    /// Every open request, in queue order.
    pub(crate) fn ordered(&self) -> impl Iterator<Item = &HandoffRecord> + '_ {
        self.order.iter().filter_map(|id| self.requests.get(id))
    }

    /// Every open request, by id.
    pub(crate) fn records(&self) -> impl Iterator<Item = &HandoffRecord> + '_ {
        self.requests.values()
    }

    /// How many requests wait (nobody holds them).
    pub(crate) fn waiting_count(&self) -> usize {
        self.positions.len()
    }

    /// How many open requests count against this client key.
    pub(crate) fn open_from_client(&self, client: &str) -> usize {
        self.clients.values().filter(|c| *c == client).count()
    }

    /// The requests a login holds, by id.
    pub(crate) fn held_by(&self, login: &str) -> Vec<u64> {
        self.requests
            .values()
            .filter(|r| holder(r) == Some(login))
            .map(|r| r.id)
            .collect()
    }

    /// The login holding a request (`None` while it waits).
    pub(crate) fn holder_of(&self, id: u64) -> Option<&str> {
        self.requests.get(&id).and_then(holder)
    }

    /// The waiting requests whose position differs from what their youth was told.
    pub(crate) fn moved(&self) -> Vec<u64> {
        self.order
            .iter()
            .filter(|id| {
                self.positions
                    .get(id)
                    .is_some_and(|p| self.told.get(id) != Some(p))
            })
            .copied()
            .collect()
    }

    /// Notes that a youth was told their position now; returns it, or `None` when the
    /// request does not wait. With `only_if_moved`, `None` also when they knew it.
    pub(crate) fn tell_position(&mut self, id: u64, only_if_moved: bool) -> Option<usize> {
        let position = self.position(id)?;
        if only_if_moved && self.told.get(&id) == Some(&position) {
            return None;
        }
        self.told.insert(id, position);
        Some(position)
    }

    /// Forgets what a youth was told (claimed: their next position is news).
    pub(crate) fn forget_told(&mut self, id: u64) {
        self.told.remove(&id);
    }

    /// Forgets what every youth was told (someone came on call: all hear again).
    pub(crate) fn forget_all_told(&mut self) {
        self.told.clear();
    }

    /// Recomputes the order and the positions: once per change.
    fn reorder(&mut self) {
        let mut order: Vec<&HandoffRecord> = self.requests.values().collect();
        order.sort_by_key(|r| queue_order(r));
        self.positions.clear();
        let mut position = 0;
        for record in &order {
            if record.state == HandoffState::Waiting {
                position += 1;
                self.positions.insert(record.id, position);
            }
        }
        self.order = order.into_iter().map(|r| r.id).collect();
    }
}

fn holder(record: &HandoffRecord) -> Option<&str> {
    match &record.state {
        HandoffState::Claimed { login, .. } => Some(login),
        HandoffState::Waiting => None,
    }
}

/// Urgent first, then put back after a lost holder, then oldest, then by id.
fn queue_order(record: &HandoffRecord) -> (bool, bool, u64, u64) {
    (
        !record.urgent,
        !record.requeued,
        record.created_ms,
        record.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u64, urgent: bool, created_ms: u64) -> HandoffRecord {
        HandoffRecord {
            id,
            session: String::new(),
            urgent,
            topic: String::new(),
            lang: "fr".into(),
            flow_version: String::new(),
            created_ms,
            state: HandoffState::Waiting,
            resources: Vec::new(),
            timeout_told: false,
            last_entry: 0,
            last_claim_ms: None,
            closed_ms: None,
            requeued: false,
        }
    }

    fn claim(record: &mut HandoffRecord, login: &str) {
        record.state = HandoffState::Claimed {
            login: login.into(),
            name: login.into(),
        };
    }

    fn ids(queue: &Queue) -> Vec<u64> {
        queue.ordered().map(|r| r.id).collect()
    }

    #[test]
    fn urgent_requests_come_first_then_the_oldest() {
        let queue = Queue::new([
            request(1, false, 100),
            request(2, true, 300),
            request(3, false, 50),
            request(4, true, 200),
        ]);
        assert_eq!(ids(&queue), [4, 2, 3, 1]);
        assert_eq!(queue.position(4), Some(1));
        assert_eq!(queue.position(1), Some(4));
        assert_eq!(queue.waiting_count(), 4);
    }

    #[test]
    fn a_request_put_back_after_a_lost_holder_goes_first_among_its_urgency() {
        let mut queue = Queue::new([request(1, false, 100), request(2, false, 200)]);
        queue.update(2, |r| r.requeued = true);
        assert_eq!(ids(&queue), [2, 1]);
        queue.insert(request(3, true, 300), None);
        assert_eq!(ids(&queue), [3, 2, 1]);
    }

    #[test]
    fn claimed_requests_have_no_position_and_the_others_move_up() {
        let mut queue = Queue::new([request(1, false, 1), request(2, false, 2)]);
        queue.update(1, |r| claim(r, "alex"));
        assert_eq!(queue.position(1), None);
        assert_eq!(queue.position(2), Some(1));
        assert_eq!(queue.waiting_count(), 1);
        assert_eq!(queue.held_by("alex"), [1]);
        assert_eq!(queue.holder_of(1), Some("alex"));
        assert_eq!(queue.holder_of(2), None);
    }

    #[test]
    fn only_the_youths_whose_place_changed_are_told_again() {
        let mut queue = Queue::new([request(1, false, 1), request(2, false, 2)]);
        assert_eq!(queue.moved(), [1, 2], "nobody was told anything yet");
        assert_eq!(queue.tell_position(1, true), Some(1));
        assert_eq!(queue.tell_position(2, true), Some(2));
        assert!(queue.moved().is_empty());
        assert_eq!(queue.tell_position(1, true), None, "already known");
        assert_eq!(
            queue.tell_position(1, false),
            Some(1),
            "told again on purpose"
        );
        // An urgent request arrives: both move down one place.
        queue.insert(request(3, true, 3), None);
        assert_eq!(queue.moved(), [3, 1, 2]);
        queue.remove(3);
        assert!(queue.moved().is_empty(), "back where they were told");
        queue.forget_all_told();
        assert_eq!(queue.moved(), [1, 2]);
    }

    #[test]
    fn a_removed_request_takes_its_client_and_what_was_told_with_it() {
        let mut queue = Queue::default();
        queue.insert(request(1, false, 1), Some("k".into()));
        queue.insert(request(2, false, 2), Some("k".into()));
        queue.insert(request(3, false, 3), Some("other".into()));
        assert_eq!(queue.open_from_client("k"), 2);
        queue.tell_position(1, false);
        assert!(queue.remove(1).is_some());
        assert_eq!(queue.open_from_client("k"), 1);
        assert!(queue.remove(1).is_none());
        assert_eq!(queue.position(2), Some(1));
        assert!(queue.get(1).is_none());
    }

    #[test]
    fn closed_records_are_not_loaded_and_update_all_reorders_once() {
        let mut closed = request(9, true, 0);
        closed.closed_ms = Some(5);
        let mut queue = Queue::new([closed, request(1, false, 1), request(2, false, 2)]);
        assert_eq!(ids(&queue), [1, 2]);
        let changed = queue.update_all(|r| {
            let pick = r.id == 2;
            if pick {
                r.urgent = true;
            }
            pick
        });
        assert_eq!(changed, [2]);
        assert_eq!(ids(&queue), [2, 1]);
        assert_eq!(queue.records().count(), 2);
    }

    #[test]
    fn positions_stay_right_for_a_long_queue() {
        let mut queue = Queue::new((1..=500).map(|id| request(id, id % 7 == 0, 1000 - id)));
        for id in (1..=500).step_by(3) {
            queue.update(id, |r| claim(r, "alex"));
        }
        let waiting: Vec<u64> = queue
            .ordered()
            .filter(|r| r.state == HandoffState::Waiting)
            .map(|r| r.id)
            .collect();
        for (index, id) in waiting.iter().enumerate() {
            assert_eq!(queue.position(*id), Some(index + 1));
        }
        assert_eq!(queue.waiting_count(), waiting.len());
    }
}
