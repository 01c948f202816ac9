//! One engineer channel relayed to one channel on the host, both ways, in order, with
//! the recording on the side. Each direction is its own task and waits on the other
//! side's window, so a fast producer is held back instead of buffered.

use std::sync::{Arc, Mutex};

use russh::ChannelMsg;
use russh::server::{self, Handle};
use russh::{Channel, client};
use tokio::sync::mpsc;

use super::detect::CommandDetector;
use super::recording::Recorder;
use super::scp::{ScpCommand, ScpObserver};
use super::sftp::SftpObserver;
use super::transfer::{Sinks, Tap};

/// Environment variables passed on to the host; all others are refused.
pub fn env_allowed(name: &str) -> bool {
    matches!(name, "LANG" | "TERM" | "TZ" | "COLORTERM") || name.starts_with("LC_")
}

/// A command the engineer ran, for the session's operation log.
pub type Commands = mpsc::UnboundedSender<String>;

/// Relays until either side closes; returns when both directions are done. File
/// transfers (the `sftp` subsystem, legacy scp) go to `files`.
pub async fn relay(
    engineer: Channel<server::Msg>,
    host: Channel<client::Msg>,
    server: Handle,
    commands: Commands,
    recorder: Arc<Recorder>,
    files: Sinks,
) {
    let id = engineer.id();
    let (engineer_in, engineer_out) = engineer.split();
    let (host_in, host_out) = host.split();
    let detector = Arc::new(Mutex::new(None::<CommandDetector>));
    let tap = Arc::new(Mutex::new(None::<Tap>));
    let input = to_host(
        (engineer_in, id),
        host_out,
        detector.clone(),
        commands.clone(),
        (tap.clone(), files),
        recorder.clone(),
    );
    let output = to_engineer(
        host_in,
        engineer_out,
        id,
        server,
        detector,
        commands,
        (recorder, tap.clone()),
    );
    tokio::join!(input, output);
    if let Some(t) = lock(&tap).as_mut() {
        t.finish();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn to_host(
    (mut from, id): (russh::ChannelReadHalf, russh::ChannelId),
    to: russh::ChannelWriteHalf<client::Msg>,
    detector: Arc<Mutex<Option<CommandDetector>>>,
    commands: Commands,
    (tap, files): (Arc<Mutex<Option<Tap>>>, Sinks),
    recorder: Arc<Recorder>,
) {
    let mut pty = (80, 24);
    while let Some(msg) = from.wait().await {
        let sent = match msg {
            ChannelMsg::Data { data } => {
                if let Some(d) = lock(&detector).as_mut() {
                    d.input(&data);
                }
                // Seen before it is sent, so an answer is never seen before its request.
                if let Some(t) = lock(&tap).as_mut() {
                    t.engineer_sent(&data);
                }
                to.data_bytes(data).await
            }
            ChannelMsg::RequestPty {
                term,
                col_width,
                row_height,
                pix_width,
                pix_height,
                terminal_modes,
                ..
            } => {
                pty = (col_width, row_height);
                recorder.pty(id, &term, col_width, row_height);
                to.request_pty(
                    false,
                    &term,
                    col_width,
                    row_height,
                    pix_width,
                    pix_height,
                    &terminal_modes,
                )
                .await
            }
            ChannelMsg::RequestShell { .. } => {
                *lock(&detector) = Some(CommandDetector::new(pty.0, pty.1));
                to.request_shell(false).await
            }
            ChannelMsg::Exec { command, .. } => {
                let line = String::from_utf8_lossy(&command).into_owned();
                if let Some(scp) = ScpCommand::parse(&line) {
                    let observer = ScpObserver::new(files.clone(), scp);
                    *lock(&tap) = Some(Tap::Scp(Box::new(observer)));
                }
                let _ = commands.send(line);
                to.exec(false, command).await
            }
            // The broker accepts no other subsystem (see `server.rs`).
            ChannelMsg::RequestSubsystem { name, .. } if name == "sftp" => {
                let observer = SftpObserver::new(files.clone());
                *lock(&tap) = Some(Tap::Sftp(Box::new(observer)));
                to.request_subsystem(false, &name).await
            }
            ChannelMsg::SetEnv {
                variable_name,
                variable_value,
                ..
            } if env_allowed(&variable_name) => {
                to.set_env(false, variable_name, variable_value).await
            }
            ChannelMsg::WindowChange {
                col_width,
                row_height,
                pix_width,
                pix_height,
            } => {
                if let Some(d) = lock(&detector).as_mut() {
                    d.resize(col_width, row_height);
                }
                recorder.resize(id, col_width, row_height);
                to.window_change(col_width, row_height, pix_width, pix_height)
                    .await
            }
            ChannelMsg::Signal { signal } => to.signal(signal).await,
            ChannelMsg::Eof => to.eof().await,
            ChannelMsg::Close => break,
            _ => Ok(()),
        };
        if sent.is_err() {
            break;
        }
    }
    let _ = to.close().await;
}

async fn to_engineer(
    mut from: russh::ChannelReadHalf,
    to: russh::ChannelWriteHalf<server::Msg>,
    id: russh::ChannelId,
    server: Handle,
    detector: Arc<Mutex<Option<CommandDetector>>>,
    commands: Commands,
    (recorder, tap): (Arc<Recorder>, Arc<Mutex<Option<Tap>>>),
) {
    while let Some(msg) = from.wait().await {
        let sent = match msg {
            ChannelMsg::Data { data } => {
                if let Some(d) = lock(&detector).as_mut() {
                    for line in d.output(&data) {
                        let _ = commands.send(line);
                    }
                }
                recorder.output(id, &data).await;
                if let Some(t) = lock(&tap).as_mut() {
                    t.host_sent(&data);
                }
                to.data_bytes(data).await
            }
            ChannelMsg::ExtendedData { data, ext } => {
                recorder.output(id, &data).await;
                to.extended_data_bytes(ext, data).await
            }
            ChannelMsg::Eof => to.eof().await,
            ChannelMsg::ExitStatus { exit_status } => to.exit_status(exit_status).await,
            ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                lang_tag,
            } => server
                .exit_signal_request(id, signal_name, core_dumped, error_message, lang_tag)
                .await
                .map_err(|_| russh::Error::SendError),
            ChannelMsg::Close => break,
            _ => Ok(()),
        };
        if sent.is_err() {
            break;
        }
    }
    let _ = to.close().await;
}
