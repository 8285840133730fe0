//! Group commit of direct submissions: concurrent [`crate::Workflow::submit`] calls share
//! transactions.
//!
//! Each caller checks, routes and deadlines its submission on its own task, queues it here
//! and then either receives its result or becomes the leader (an async mutex, first come first
//! served): the leader takes up to [`GROUP_MAX`] queued submissions in arrival order and writes
//! them in one transaction through the same store code as `submit_batch`, then hands each
//! caller its own result. There is no timer: a lone caller finds the lock free and its own
//! submission alone in the queue, and commits at once; callers that arrive while a
//! transaction is being written wait for it and go together in the next one.
//!
//! A batch stops before a second submission with a key already in it, so the same key twice
//! behaves as two calls in a row. If a leader is cancelled mid-write, the submissions it had
//! taken are answered by nobody: their callers see the closed channel and submit again (the
//! idempotency key makes that safe whether or not the transaction committed).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::{Mutex as AsyncMutex, MutexGuard, oneshot};

use crate::error::Result;
use crate::intake::Intake;
use crate::service::Ready;

/// Most submissions one group transaction takes.
pub(crate) const GROUP_MAX: usize = 64;

/// A queued submission and where its result goes.
pub(crate) struct Waiting {
    pub(crate) ready: Ready,
    pub(crate) reply: oneshot::Sender<Result<Intake>>,
}

/// The queue of submissions waiting for a transaction and the leader's lock.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<VecDeque<Waiting>>,
    leader: AsyncMutex<()>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.queue.lock().map_or(0, |q| q.len());
        f.debug_struct("GroupCommit")
            .field("queued", &queued)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Queues `ready`; its result arrives on the receiver.
    pub(crate) fn enqueue(&self, ready: Ready) -> oneshot::Receiver<Result<Intake>> {
        let (reply, rx) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(Waiting { ready, reply });
        rx
    }

    /// Waits to lead.
    pub(crate) async fn lead(&self) -> MutexGuard<'_, ()> {
        self.leader.lock().await
    }

    /// Takes the next batch: up to `max` queued submissions in arrival order, stopping before
    /// one whose key is already in the batch.
    pub(crate) fn take(&self, max: usize) -> Vec<Waiting> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys = HashSet::new();
        let mut out = Vec::with_capacity(queue.len().min(max));
        while out.len() < max {
            let Some(next) = queue.front() else { break };
            if !keys.insert(next.ready.key.clone()) {
                break;
            }
            if let Some(w) = queue.pop_front() {
                out.push(w);
            }
        }
        out
    }
}
