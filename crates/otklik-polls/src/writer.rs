//! Group commit: concurrent votes queue up for one writer task, which writes whatever has
//! queued (up to the batch limit) in one transaction ([`Store::cast_votes`]). A lone vote is
//! written at once; under load, each commit carries many votes, so SQLite's single writer is
//! not taken once per vote. Callers just await their own outcome.

use std::sync::Mutex;

use otklik_store::{Store, VoteStored, VoteWrite};
use tokio::sync::{mpsc, oneshot};

use crate::error::{PollsError, Result};

/// Votes waiting for the writer before callers are made to wait for room (back-pressure).
const QUEUE: usize = 8_192;

struct Job {
    write: VoteWrite,
    reply: oneshot::Sender<Result<VoteStored>>,
}

/// The handle to the writer task, started on first use (and again if it ever stopped).
pub(crate) struct Writer {
    store: Store,
    max_batch: usize,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl Writer {
    pub(crate) fn new(store: Store, max_batch: usize) -> Self {
        Self {
            store,
            max_batch: max_batch.clamp(1, otklik_store::MAX_VOTE_BATCH),
            sender: Mutex::new(None),
        }
    }

    fn sender(&self, restart: bool) -> mpsc::Sender<Job> {
        let mut guard = match self.sender.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        match guard.as_ref() {
            Some(s) if !restart && !s.is_closed() => s.clone(),
            _ => {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(self.store.clone(), rx, self.max_batch));
                *guard = Some(tx.clone());
                tx
            }
        }
    }

    /// Queues one vote and waits for its outcome.
    pub(crate) async fn write(&self, write: VoteWrite) -> Result<VoteStored> {
        let (reply, outcome) = oneshot::channel();
        let mut job = Job { write, reply };
        let mut restart = false;
        loop {
            match self.sender(restart).send(job).await {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) if !restart => {
                    job = back;
                    restart = true;
                }
                Err(_) => return Err(PollsError::WriterGone),
            }
        }
        outcome.await.map_err(|_| PollsError::WriterGone)?
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut jobs = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        let (writes, replies): (Vec<VoteWrite>, Vec<_>) =
            jobs.drain(..).map(|j| (j.write, j.reply)).unzip();
        match store.cast_votes(&writes).await {
            Ok(outcomes) if outcomes.len() == writes.len() => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            failed => {
                if let Err(e) = &failed {
                    tracing::warn!(error = %e, votes = writes.len(), "vote batch failed; writing one by one");
                }
                // Each vote gets its own outcome or its own error.
                for (write, reply) in writes.iter().zip(replies) {
                    let one = store
                        .cast_votes(std::slice::from_ref(write))
                        .await
                        .map_err(PollsError::from)
                        .and_then(|mut v| v.pop().ok_or(PollsError::WriterGone));
                    let _ = reply.send(one);
                }
            }
        }
    }
}
