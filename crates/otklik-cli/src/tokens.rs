//! `otklik tokens create|list|revoke`: API tokens for integrations and mobile apps (`/api/v1`,
//! Open311). The store keeps only a token's SHA-256; the plaintext is printed once, at creation.

use std::process::ExitCode;

use anyhow::Context as _;
use otklik_store::{ApiScope, ApiTokenId, NewApiToken};

use crate::commands::now;
use crate::config::Config;

/// `otklik tokens …`.
#[derive(Debug, clap::Subcommand)]
pub enum TokensCommand {
    /// Creates a token and prints it once (store it: it cannot be shown again).
    Create {
        /// A unique name (for integrations: the external system's id).
        name: String,
        /// Organisation code the token is scoped to (default: regional, every organisation).
        #[arg(long, value_name = "CODE")]
        organisation: Option<String>,
        /// Scopes: submit, read, integration (repeatable or comma-separated).
        #[arg(long = "scope", value_delimiter = ',', default_values_t = vec!["submit".to_owned(), "read".to_owned()])]
        scopes: Vec<String>,
        /// Write requests per minute (default: the server's limit).
        #[arg(long)]
        rate_per_minute: Option<i64>,
    },
    /// Every token: id, name, prefix, organisation, scopes, last use, revoked.
    List,
    /// Revokes a token by id: it authenticates nothing from now on.
    Revoke {
        /// The token's id (see `otklik tokens list`).
        id: i64,
    },
}

/// Runs `otklik tokens …`.
pub async fn run(cfg: &Config, cmd: TokensCommand) -> anyhow::Result<ExitCode> {
    let store = crate::collect::open_store(cfg).await?;
    match cmd {
        TokensCommand::Create {
            name,
            organisation,
            scopes,
            rate_per_minute,
        } => {
            let organisation = match organisation {
                Some(code) => Some(
                    store
                        .organisation_by_code(&code)
                        .await?
                        .with_context(|| format!("no organisation with code «{code}»"))?
                        .id,
                ),
                None => None,
            };
            let scopes = scopes
                .iter()
                .map(|s| {
                    s.trim().parse::<ApiScope>().map_err(|_| {
                        anyhow::anyhow!("unknown scope «{s}» (submit, read, integration)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let created = store
                .create_api_token(
                    &NewApiToken {
                        name,
                        organisation,
                        scopes,
                        rate_per_minute,
                    },
                    None,
                    now(),
                )
                .await?;
            eprintln!(
                "token {} «{}» created; it is shown only now:",
                created.token.id.0, created.token.name
            );
            println!("{}", created.secret.expose());
            Ok(ExitCode::SUCCESS)
        }
        TokensCommand::List => {
            for t in store.api_tokens().await? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.code()).collect();
                println!(
                    "{:<5} {:<24} {:<12} org={:<6} {:<28} {}",
                    t.id.0,
                    t.name,
                    t.prefix,
                    t.organisation
                        .map_or_else(|| "—".to_owned(), |o| o.get().to_string()),
                    scopes.join(","),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokensCommand::Revoke { id } => {
            if store.revoke_api_token(ApiTokenId(id), None, now()).await? {
                println!("token {id} revoked");
            } else {
                println!("token {id} was already revoked");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
