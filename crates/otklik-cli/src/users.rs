//! `otklik users list|passwd`: staff accounts and their passwords (argon2id, through
//! `otklik_web::auth::set_password`, which checks the policy, audits the change and ends the
//! account's sessions).

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::commands::now;
use crate::config::Config;

/// `otklik users …`.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Accounts with their organisation, roles and whether they can sign in.
    List,
    /// Sets a staff account's password, read from the first line of standard input (never
    /// from the command line, where other users of the machine could see it).
    Passwd {
        /// The account's login.
        login: String,
    },
}

/// Runs `otklik users …`.
pub async fn run(cfg: &Config, cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let store = crate::collect::open_store(cfg).await?;
    match cmd {
        UsersCommand::List => {
            let orgs = store.organisations().await?;
            for u in store.users().await? {
                let org = u
                    .organisation
                    .and_then(|id| orgs.iter().find(|o| o.id == id))
                    .map_or("—", |o| o.code.as_str());
                let roles: Vec<String> = u.roles.iter().map(|g| g.role.to_string()).collect();
                let sign_in = match store.password_hash(&u.login).await? {
                    Some((_, Some(_))) => "password",
                    _ => "no password",
                };
                println!(
                    "{:<24} {:<20} {:<12} {:<40} {}",
                    u.login,
                    org,
                    if u.confirmed {
                        "confirmed"
                    } else {
                        "unconfirmed"
                    },
                    roles.join(","),
                    sign_in
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Passwd { login } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(
                !password.is_empty(),
                "no password on standard input (e.g. `otklik users passwd {login} < file`)"
            );
            otklik_web::auth::set_password(&store, &login, password, None, now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {login} set; its open sessions have ended");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The password every demo staff account gets when `serve --demo` loads the demo region
/// (documented in demo/README.md; never used outside the demo).
pub(crate) const DEMO_PASSWORD: &str = "otklik-demo-2026";

/// Gives every confirmed demo account [`DEMO_PASSWORD`] (one argon2id hash shared by all, so
/// loading stays quick).
pub(crate) async fn set_demo_passwords(store: &otklik_store::Store) -> anyhow::Result<usize> {
    let hash = tokio::task::spawn_blocking(|| otklik_web::auth::hash_password(DEMO_PASSWORD))
        .await
        .context("hashing task")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut n = 0;
    for u in store.users().await? {
        if u.confirmed {
            store
                .set_password_hash(u.id, Some(&hash), None, now())
                .await?;
            n += 1;
        }
    }
    Ok(n)
}
