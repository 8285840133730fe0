//! Test support (feature `testing`): a tiny SMTP server on loopback that records accepted
//! messages and can fail a transfer (451 after DATA), reject the recipient (550), or hang
//! without a greeting (for timeouts). Used by this crate's tests and by the server's
//! integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the server does on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept and record the message.
    Accept,
    /// `451` after the message data (a temporary failure); nothing recorded.
    FailTransient,
    /// `550` for the recipient (a permanent failure).
    RejectRecipient,
    /// Accept the TCP connection and say nothing, ever.
    Hang,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipient.
    pub rcpt_to: String,
    /// The message as transferred (headers and body).
    pub data: String,
}

#[derive(Debug)]
struct State {
    default: Mode,
    plan: VecDeque<Mode>,
    messages: Vec<Received>,
    connections: usize,
}

/// The server; it runs until the test's runtime ends.
#[derive(Debug, Clone)]
pub struct FakeSmtp {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeSmtp {
    /// Starts a server on 127.0.0.1 (a free port) doing `default` on every connection.
    pub async fn start(default: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            default,
            plan: VecDeque::new(),
            messages: Vec::new(),
            connections: 0,
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mode = {
                    let mut s = shared.lock().unwrap();
                    s.connections += 1;
                    let default = s.default;
                    s.plan.pop_front().unwrap_or(default)
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, mode, shared).await;
                });
            }
        });
        Self { port, state }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next connections do these, in order, before the default applies again.
    pub fn plan(&self, modes: impl IntoIterator<Item = Mode>) {
        self.state.lock().unwrap().plan.extend(modes);
    }

    /// Messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }
}

fn address(arg: &str) -> String {
    let a = arg.split_once(':').map_or(arg, |(_, a)| a).trim();
    let a = a.split_whitespace().next().unwrap_or_default();
    a.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn serve(stream: TcpStream, mode: Mode, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    if mode == Mode::Hang {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 fake.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let verb = cmd
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-fake.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 fake.test\r\n",
            "MAIL" => {
                from = address(&cmd);
                b"250 2.1.0 ok\r\n"
            }
            "RCPT" => {
                to = address(&cmd);
                if mode == Mode::RejectRecipient {
                    b"550 5.1.1 no such user\r\n"
                } else {
                    b"250 2.1.5 ok\r\n"
                }
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                if mode == Mode::FailTransient {
                    b"451 4.3.0 try again later\r\n"
                } else {
                    state.lock().unwrap().messages.push(Received {
                        mail_from: from.clone(),
                        rcpt_to: to.clone(),
                        data,
                    });
                    b"250 2.0.0 queued\r\n"
                }
            }
            "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 unknown command\r\n",
        };
        write.write_all(reply).await?;
    }
}
