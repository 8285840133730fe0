//! Otklik's integration tests: one binary, one module per area. They run the real `otklik`
//! binary against real SQLite files and real HTTP on loopback. Data files sit beside the modules
//! in `tests/data/`.

mod browser;
mod browser_polls;
mod browser_scenario;
mod cli_classify;
mod cli_collect;
mod cli_import;
mod cli_kill;
mod cli_polls;
mod cli_report;
mod cli_rules;
mod cli_searches;
mod cli_users;
mod search_sync;
mod serve;
mod support;
mod webdriver;
