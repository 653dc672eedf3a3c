//! Admission by class and by client address: long transfers (uploads, downloads) may hold at
//! most `max_transfers` request threads, one client address at most `max_transfers_per_client`
//! of them and `max_requests_per_client` requests in all. Past a cap a request is refused at
//! once (503 with `Retry-After`), so the remaining threads always serve pages, assets, logins
//! and API calls, and one address cannot take every slot. Counts exist only while requests do,
//! so memory is bounded by the number of requests in flight.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::locks::lock;

/// Seconds a refused client is told to wait (`Retry-After`): transfers last seconds to hours,
/// so a short, fixed hint.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The caps, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionLimits {
    pub max_transfers: usize,
    pub max_transfers_per_client: usize,
    pub max_requests_per_client: usize,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Every transfer slot is taken.
    AllTransfers,
    /// This address runs `max_transfers_per_client` transfers already.
    ClientTransfers,
    /// This address has `max_requests_per_client` requests in flight already.
    ClientRequests,
}

impl Refused {
    /// What the client is told.
    pub fn message(self) -> &'static str {
        match self {
            Refused::AllTransfers => "the server is busy with other transfers; try again soon",
            Refused::ClientTransfers => {
                "too many transfers from your address at once; try again when one has finished"
            }
            Refused::ClientRequests => "too many requests from your address at once",
        }
    }
}

#[derive(Default, Debug)]
struct Client {
    requests: usize,
    transfers: usize,
}

#[derive(Default, Debug)]
struct Counts {
    transfers: usize,
    clients: HashMap<IpAddr, Client>,
}

/// The admission counters, shared by every request thread.
pub struct Admission {
    limits: AdmissionLimits,
    counts: Arc<Mutex<Counts>>,
}

/// A place held by one request (and, for a transfer, one transfer slot) until dropped.
#[derive(Debug)]
pub struct Ticket {
    counts: Arc<Mutex<Counts>>,
    client: IpAddr,
    transfer: bool,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Admission {
            limits,
            counts: Arc::default(),
        }
    }

    /// Admits one request from `client`, or refuses it when the address has too many in
    /// flight.
    pub fn request(&self, client: IpAddr) -> Result<Ticket, Refused> {
        let mut counts = lock(&self.counts);
        let now = counts.clients.get(&client).map_or(0, |c| c.requests);
        if now >= self.limits.max_requests_per_client {
            return Err(Refused::ClientRequests);
        }
        counts.clients.entry(client).or_default().requests += 1;
        Ok(self.ticket(client, false))
    }

    /// Admits one long transfer from `client` (on top of its request ticket), or refuses it
    /// when every transfer slot, or this address's share, is taken.
    pub fn transfer(&self, client: IpAddr) -> Result<Ticket, Refused> {
        let mut counts = lock(&self.counts);
        if counts.transfers >= self.limits.max_transfers {
            return Err(Refused::AllTransfers);
        }
        let now = counts.clients.get(&client).map_or(0, |c| c.transfers);
        if now >= self.limits.max_transfers_per_client {
            return Err(Refused::ClientTransfers);
        }
        counts.clients.entry(client).or_default().transfers += 1;
        counts.transfers += 1;
        Ok(self.ticket(client, true))
    }

    /// Transfers running now.
    pub fn transfers(&self) -> usize {
        lock(&self.counts).transfers
    }

    fn ticket(&self, client: IpAddr, transfer: bool) -> Ticket {
        Ticket {
            counts: Arc::clone(&self.counts),
            client,
            transfer,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if self.transfer {
            counts.transfers = counts.transfers.saturating_sub(1);
        }
        let idle = match counts.clients.get_mut(&self.client) {
            Some(c) => {
                if self.transfer {
                    c.transfers = c.transfers.saturating_sub(1);
                } else {
                    c.requests = c.requests.saturating_sub(1);
                }
                c.requests == 0 && c.transfers == 0
            }
            None => false,
        };
        if idle {
            counts.clients.remove(&self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission() -> Admission {
        Admission::new(AdmissionLimits {
            max_transfers: 3,
            max_transfers_per_client: 2,
            max_requests_per_client: 4,
        })
    }

    #[test]
    fn transfers_are_capped_in_all_and_per_address_and_freed_when_dropped() {
        let a = admission();
        let (x, y, z): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let x1 = a.transfer(x).unwrap();
        let _x2 = a.transfer(x).unwrap();
        assert_eq!(a.transfer(x).unwrap_err(), Refused::ClientTransfers);
        let _y1 = a.transfer(y).unwrap();
        assert_eq!(a.transfer(z).unwrap_err(), Refused::AllTransfers);
        drop(x1);
        assert_eq!(a.transfers(), 2);
        let _z1 = a.transfer(z).unwrap();
        assert_eq!(a.transfer(y).unwrap_err(), Refused::AllTransfers);
    }

    #[test]
    fn requests_are_capped_per_address_and_counts_vanish_with_their_requests() {
        let a = admission();
        let x: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<Ticket> = (0..4).map(|_| a.request(x).unwrap()).collect();
        assert_eq!(a.request(x).unwrap_err(), Refused::ClientRequests);
        assert!(a.request("10.0.0.2".parse().unwrap()).is_ok());
        drop(held);
        let t = a.transfer(x).unwrap();
        assert!(a.request(x).is_ok());
        drop(t);
        assert!(
            lock(&a.counts).clients.is_empty(),
            "no count outlives its requests"
        );
        assert_eq!(a.transfers(), 0);
    }
}
