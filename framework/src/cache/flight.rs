//! Single-flight per key: concurrent misses of one key in this process run one load.
//!
//! The first caller to miss becomes the leader and runs its loader; callers that miss while it
//! runs follow it and wait for what it landed. A map of `watch` channels, one per key in
//! flight, held under a std mutex that is never held across an await. A leader that is dropped
//! (its request was cancelled) removes its entry and closes its channel, and its followers
//! start over (one of them leads).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// What a leader landed.
#[derive(Debug, Clone)]
pub(crate) enum Landed {
    /// The stored form (`codec`) of the value, or of "absent".
    Entry(Arc<[u8]>),
    /// The load failed (or its value could not be encoded): each follower runs its own loader.
    Failed,
}

type Slot = watch::Receiver<Option<Landed>>;

/// The keys in flight.
#[derive(Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Slot>>,
}

/// A caller's part in the flight of a key.
pub(crate) enum Role<'a> {
    Leader(Lead<'a>),
    Follower(Slot),
}

impl Flights {
    /// Leads the flight of `key`, or follows the one in progress.
    pub(crate) fn join(&self, key: &str) -> Role<'_> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = map.get(key) {
            return Role::Follower(slot.clone());
        }
        let (sender, slot) = watch::channel(None);
        map.insert(key.to_string(), slot.clone());
        Role::Leader(Lead {
            flights: self,
            key: key.to_string(),
            sender,
            slot,
        })
    }

    /// Keys in flight now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Waits for the leader followed through `slot`; `None` when it was dropped without landing.
pub(crate) async fn follow(mut slot: Slot) -> Option<Landed> {
    let landed = slot.wait_for(Option::is_some).await.ok()?;
    landed.clone()
}

/// The leader of a key's flight; dropping it ends the flight.
pub(crate) struct Lead<'a> {
    flights: &'a Flights,
    key: String,
    sender: watch::Sender<Option<Landed>>,
    slot: Slot,
}

impl Lead<'_> {
    /// Hands `landed` to the followers and ends the flight.
    pub(crate) fn land(self, landed: Landed) {
        self.sender.send_replace(Some(landed));
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.map.lock().unwrap_or_else(|e| e.into_inner());
        if map
            .get(&self.key)
            .is_some_and(|s| s.same_channel(&self.slot))
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_get_what_the_leader_lands_and_the_flight_ends() {
        let flights = Flights::default();
        let Role::Leader(lead) = flights.join("k") else {
            panic!("the first caller leads");
        };
        let Role::Follower(slot) = flights.join("k") else {
            panic!("the second caller follows");
        };
        assert!(matches!(flights.join("other"), Role::Leader(_)));
        lead.land(Landed::Entry(Arc::from(&b"n1"[..])));
        assert_eq!(flights.len(), 0);
        match follow(slot).await {
            Some(Landed::Entry(entry)) => assert_eq!(&*entry, b"n1"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(flights.join("k"), Role::Leader(_)), "a new flight");
    }

    #[tokio::test]
    async fn a_dropped_leader_releases_its_followers() {
        let flights = Flights::default();
        let lead = flights.join("k");
        let Role::Follower(slot) = flights.join("k") else {
            panic!("the second caller follows");
        };
        drop(lead);
        assert!(follow(slot).await.is_none());
        assert_eq!(flights.len(), 0);
    }
}
