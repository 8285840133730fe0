//! `otklik replies …`: the reply outbox outside the scheduler — list what is queued,
//! delivered or given up; queue an answer under a message's original post; deliver the due
//! replies now (VK `wall.createComment` with `OTKLIK_VK_TOKEN`, at `OTKLIK_VK_API_URL`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use otklik_domain::MessageId;
use otklik_pipeline::{Replier, ReplierSettings, format_time};
use otklik_store::ReplyStatus;

use crate::collect::{open_store, reply_sender_from_env};
use crate::config::Config;

/// `otklik replies …`
#[derive(Debug, clap::Subcommand)]
pub enum RepliesCommand {
    /// The outbox, newest first.
    List {
        /// Only replies in this state: pending, delivered, failed.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue an answer to a message, to be posted under the message's original post.
    Queue {
        /// The message id.
        #[arg(long)]
        message: i64,
        /// The answer's text.
        #[arg(long)]
        text: String,
        /// Idempotency key (default `answer:<message>`): queuing again with it does nothing.
        #[arg(long)]
        key: Option<String>,
    },
    /// Deliver the due replies now (once) and print what happened; exits 2 when some failed.
    Send {
        /// At most this many replies.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

/// Run a `replies` subcommand.
pub async fn run(cfg: &Config, command: RepliesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RepliesCommand::List { status, limit } => list(cfg, status.as_deref(), limit).await,
        RepliesCommand::Queue { message, text, key } => {
            queue(cfg, MessageId(message), &text, key).await
        }
        RepliesCommand::Send { limit } => send(cfg, limit).await,
    }
}

async fn list(cfg: &Config, status: Option<&str>, limit: i64) -> anyhow::Result<ExitCode> {
    let status = status
        .map(|s| {
            s.parse::<ReplyStatus>()
                .map_err(|e| anyhow::anyhow!("--status: {e}"))
        })
        .transpose()?;
    let store = open_store(cfg).await?;
    let replies = store.replies(status, limit).await?;
    if replies.is_empty() {
        println!("no replies");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>5}  {:>7}  {:9}  {:>8}  {:23}  {:10}  target / error",
        "id", "message", "status", "attempts", "next attempt", "remote id"
    );
    for r in replies {
        let detail = match (&r.status, &r.last_error) {
            (ReplyStatus::Delivered, _) | (_, None) => r.target_external_id.clone(),
            (_, Some(e)) => format!("{}: {e}", r.target_external_id),
        };
        println!(
            "{:>5}  {:>7}  {:9}  {:>8}  {:23}  {:10}  {detail}",
            r.id,
            r.message,
            r.status.code(),
            r.attempts,
            format_time(r.next_attempt_at),
            r.remote_id.as_deref().unwrap_or("—"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn queue(
    cfg: &Config,
    message: MessageId,
    text: &str,
    key: Option<String>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let msg = store
        .message(message)
        .await?
        .with_context(|| format!("no message {message}"))?;
    let post_id = msg.source_post.with_context(|| {
        format!("message {message} did not come from a collected post: nowhere to reply")
    })?;
    let post = store
        .post(post_id)
        .await?
        .with_context(|| format!("the post {post_id} of message {message} is gone"))?;
    let key = key.unwrap_or_else(|| format!("answer:{message}"));
    let reply = store
        .enqueue_reply(
            message,
            post.network,
            &post.external_id,
            text,
            &key,
            otklik_pipeline::now(),
        )
        .await?;
    println!(
        "reply {} to message {message} under {} post {}: {}",
        reply.id,
        post.network.code(),
        post.external_id,
        reply.status.code()
    );
    Ok(ExitCode::SUCCESS)
}

async fn send(cfg: &Config, limit: i64) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let sender = reply_sender_from_env()?.with_context(|| {
        format!(
            "no VK token: set {} to post replies",
            otklik_pipeline::config::ENV_VK_TOKEN
        )
    })?;
    let replier = Replier::new(
        store,
        Arc::new(sender),
        ReplierSettings {
            batch_size: limit.max(1),
            ..ReplierSettings::default()
        },
    );
    let r = replier.run_once(otklik_pipeline::now()).await?;
    println!(
        "replies delivered: {}, to retry: {}, given up: {}",
        r.delivered, r.retrying, r.given_up
    );
    Ok(if r.retrying + r.given_up > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
