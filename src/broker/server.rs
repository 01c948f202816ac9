//! The SSH server side: engineer authentication, the gate at every channel, the host
//! connection, refusals, and each connection's life from accept to cleanup.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::PublicKey;
use russh::server::{
    Auth, ChannelOpenHandle, Handle, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelMsg, Disconnect, Sig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::BrokerConfig;
use super::cutoff::Registered;
use super::relay::{self, Commands, env_allowed};
use super::target::{self, TargetError, TargetHandle};
use super::throttle::Throttle;
use crate::domain::broker::{Refusal, key_fingerprint};
use crate::domain::session::{MAX_COMMAND_CHARS, Operation};
use crate::service::App;
use crate::service::broker::{BrokerEngineer, FailedLogin};
use crate::service::live_sessions::LiveSession;
use crate::store::SessionRef;

/// What every connection shares.
pub struct Shared {
    app: Arc<App>,
    config: BrokerConfig,
    throttle: Throttle,
}

impl Shared {
    pub fn new(app: Arc<App>, config: BrokerConfig) -> Shared {
        Shared {
            app,
            config,
            throttle: Throttle::default(),
        }
    }
}

pub async fn accept_loop(
    listener: TcpListener,
    russh: Arc<russh::server::Config>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(connection(stream, peer, russh.clone(), shared.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), "broker: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A connection's established state: the host session and the session record.
struct Established {
    engineer: BrokerEngineer,
    target: Arc<TargetHandle>,
    session: SessionRef,
    commands: Commands,
    channels: Arc<Mutex<Vec<ChannelId>>>,
    _registered: Registered,
}

type State = Arc<tokio::sync::Mutex<Option<Established>>>;

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    russh: Arc<russh::server::Config>,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let state: State = Default::default();
    let authenticated = Arc::new(AtomicBool::new(false));
    let (kill, killed) = oneshot::channel();
    let handler = Connection {
        shared: shared.clone(),
        peer: peer.ip().to_string(),
        engineer: None,
        state: state.clone(),
        authenticated: authenticated.clone(),
        kill: Arc::new(Mutex::new(Some(kill))),
    };
    let Ok(running) = russh::server::run_stream(russh, stream, handler).await else {
        return;
    };
    let handle = running.handle();
    let grace = shared.config.login_grace_time;
    let late = tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if !authenticated.load(Ordering::SeqCst) {
            let _ = handle
                .disconnect(
                    Disconnect::ByApplication,
                    "login grace time over".into(),
                    "en".into(),
                )
                .await;
        }
    });
    // A cut disconnects politely first; if the client does not go within a second
    // (it may have stopped reading), dropping the session closes the socket.
    tokio::select! {
        _ = running => {}
        _ = async {
            let _ = killed.await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        } => {}
    }
    late.abort();
    if let Some(established) = state.lock().await.take() {
        finish(&shared.app, established).await;
    }
}

async fn finish(app: &App, established: Established) {
    let _ = established
        .target
        .disconnect(Disconnect::ByApplication, "", "en")
        .await;
    if let Err(e) = app
        .broker_close_session(&established.engineer, &established.session)
        .await
    {
        tracing::warn!(error = %crate::causes::Causes(&e), "broker: cannot close the session record");
    }
}

struct Connection {
    shared: Arc<Shared>,
    peer: String,
    engineer: Option<BrokerEngineer>,
    state: State,
    authenticated: Arc<AtomicBool>,
    kill: Arc<Mutex<Option<oneshot::Sender<()>>>>,
}

impl Connection {
    fn app(&self) -> &Arc<App> {
        &self.shared.app
    }

    fn throttle_keys<'a>(&'a self, user: &'a str) -> [&'a str; 2] {
        let engineer = user.rsplit_once([':', '#']).map_or(user, |(e, _)| e);
        [engineer, self.peer.as_str()]
    }

    /// The engineer whose key this is, if they named themselves; failures are counted
    /// and audited.
    async fn identify(&self, user: &str, key: &PublicKey) -> Option<BrokerEngineer> {
        let keys = self.throttle_keys(user);
        if self.shared.throttle.blocked(&keys) {
            return None;
        }
        let found = self
            .app()
            .broker_identify(user, &key_fingerprint(key))
            .await
            .ok()
            .flatten();
        if found.is_none() {
            self.shared.throttle.fail(&keys);
            let failed = FailedLogin {
                user,
                peer: &self.peer,
                why: "unknown engineer or unregistered key",
            };
            if let Err(e) = self.app().broker_audit_failed_login(failed).await {
                tracing::warn!(error = %crate::causes::Causes(&e), "broker: cannot audit a failed login");
            }
        }
        found
    }

    /// The gate for a new channel; on the first, also the host login and the session
    /// record. `Err` is the line the engineer reads.
    async fn admit(
        &self,
        engineer: &BrokerEngineer,
        server: Handle,
    ) -> Result<Arc<TargetHandle>, String> {
        let app = self.app();
        let target = match app.broker_gate(engineer).await {
            Ok(Ok(target)) => target,
            Ok(Err((auth, refusal))) => {
                let _ = app
                    .broker_audit_refusal(engineer, auth.as_ref(), refusal, &self.peer)
                    .await;
                return Err(refusal.message());
            }
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), "broker: gate unavailable");
                return Err("the service is unavailable, try again".into());
            }
        };
        let mut state = self.state.lock().await;
        if let Some(established) = state.as_ref() {
            return Ok(established.target.clone());
        }
        let refuse = |refusal: Refusal| async move {
            let _ = app
                .broker_audit_refusal(engineer, None, refusal, &self.peer)
                .await;
            Err(refusal.message())
        };
        let live = LiveSession {
            authorization_id: target.authorization_id,
            detail_id: target.detail_id,
            engineer_id: engineer.user.id.clone(),
        };
        let config = &self.shared.config;
        let Some((key, cut)) = app.live_sessions.register(
            live,
            config.max_sessions_per_engineer,
            config.max_sessions_per_authorization,
        ) else {
            return refuse(Refusal::TooManySessions).await;
        };
        let registered = Registered {
            app: app.clone(),
            key,
        };
        let connected =
            target::connect(&target, &app.target_networks, config.connect_timeout).await;
        let (handle, seen) = match connected {
            Ok(connected) => connected,
            Err(TargetError::HostKeyChanged(seen)) => {
                let _ = app.broker_host_key_changed(engineer, &target, &seen).await;
                return Err(Refusal::HostKeyChanged.message());
            }
            Err(TargetError::Failed(outcome)) => {
                tracing::info!(outcome = outcome.name(), "broker: host login failed");
                return refuse(Refusal::HostUnavailable).await;
            }
            Err(TargetError::NotAllowed(why)) => {
                tracing::info!(cause = %why.cause(), "broker: target not allowed");
                return refuse(Refusal::HostUnavailable).await;
            }
        };
        if let Err(e) = app.broker_pin_host_key(engineer, &target, &seen).await {
            tracing::warn!(error = %crate::causes::Causes(&e), "broker: cannot pin the host key");
        }
        let session = app
            .broker_open_session(engineer, &target)
            .await
            .map_err(|e| match e {
                crate::service::ServiceError::SessionConflict(why) => why.to_string(),
                _ => "the service is unavailable, try again".to_string(),
            })?;
        drop(target); // wipes the password
        let target = Arc::new(handle);
        let channels = Arc::new(Mutex::new(Vec::new()));
        let commands = spawn_recorder(app.clone(), engineer.clone(), session.clone());
        tokio::spawn(cut_when_told(
            cut,
            server,
            channels.clone(),
            target.clone(),
            self.kill.clone(),
        ));
        *state = Some(Established {
            engineer: engineer.clone(),
            target: target.clone(),
            session,
            commands,
            channels,
            _registered: registered,
        });
        Ok(target)
    }
}

/// Writes the commands of one connection to its session record, in order.
fn spawn_recorder(app: Arc<App>, engineer: BrokerEngineer, session: SessionRef) -> Commands {
    let (commands, mut received) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(command) = received.recv().await {
            let oper: String = command.chars().take(MAX_COMMAND_CHARS).collect();
            let op = Operation {
                oper,
                operate_time: app.clock.now(),
            };
            if let Err(e) = app.broker_record(&engineer, &session, vec![op]).await {
                tracing::info!(error = %crate::causes::Causes(&e), "broker: command not recorded");
            }
        }
    });
    commands
}

/// Waits for the registry to cut this session, then tells the engineer why and
/// disconnects both sides.
async fn cut_when_told(
    mut cut: watch::Receiver<Option<String>>,
    server: Handle,
    channels: Arc<Mutex<Vec<ChannelId>>>,
    target: Arc<TargetHandle>,
    kill: Arc<Mutex<Option<oneshot::Sender<()>>>>,
) {
    let Ok(why) = cut
        .wait_for(Option::is_some)
        .await
        .map(|w| w.clone().unwrap_or_default())
    else {
        return;
    };
    let line = format!("\r\nsupport-access: session closed: {why}\r\n");
    let open: Vec<ChannelId> = channels.lock().map(|c| c.clone()).unwrap_or_default();
    let polite = async {
        for ch in open {
            let _ = server.extended_data(ch, 1, line.clone().into_bytes()).await;
            let _ = server.exit_status_request(ch, 255).await;
            let _ = server.close(ch).await;
        }
        // A client that gets DISCONNECT exits at once, possibly before it printed the
        // line; with its channels closed it leaves by itself, so it gets a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = server
            .disconnect(Disconnect::ByApplication, why.clone(), "en".into())
            .await;
    };
    let _ = tokio::time::timeout(Duration::from_millis(1200), polite).await;
    let _ = target.disconnect(Disconnect::ByApplication, "", "en").await;
    if let Some(kill) = kill.lock().ok().and_then(|mut k| k.take()) {
        let _ = kill.send(());
    }
}

/// Tells the engineer why (one line on stderr) once they ask for a shell or command,
/// then closes the channel. Nothing reaches the host.
async fn refuse(channel: Channel<Msg>, line: String) {
    let (mut from, to) = channel.split();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(msg) = from.wait().await {
            if matches!(
                msg,
                ChannelMsg::RequestShell { .. }
                    | ChannelMsg::Exec { .. }
                    | ChannelMsg::RequestSubsystem { .. }
                    | ChannelMsg::Close
            ) {
                break;
            }
        }
    })
    .await;
    let _ = to
        .extended_data_bytes(1, format!("support-access: {line}\r\n").into_bytes())
        .await;
    let _ = to.exit_status(1).await;
    let _ = to.eof().await;
    let _ = to.close().await;
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(match self.identify(user, offer.public_key).await {
            Some(_) => Auth::Accept,
            None => Auth::reject(),
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Some(engineer) = self.identify(user, key.public_key).await else {
            return Ok(Auth::reject());
        };
        self.engineer = Some(engineer);
        self.authenticated.store(true, Ordering::SeqCst);
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(engineer) = self.engineer.clone() else {
            return Ok(()); // dropping `reply` refuses the channel
        };
        let server = session.handle();
        let admitted = self.admit(&engineer, server.clone()).await;
        reply.accept().await;
        let host = match admitted {
            Ok(target) => target
                .channel_open_session()
                .await
                .map_err(|_| Refusal::HostUnavailable.message()),
            Err(line) => Err(line),
        };
        match host {
            Ok(host) => {
                let state = self.state.lock().await;
                let Some(established) = state.as_ref() else {
                    return Ok(());
                };
                if let Ok(mut open) = established.channels.lock() {
                    open.push(channel.id());
                }
                let commands = established.commands.clone();
                tokio::spawn(relay::relay(channel, host, server, commands));
            }
            Err(line) => {
                tokio::spawn(refuse(channel, line));
            }
        }
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if env_allowed(name) {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    /// SFTP and other subsystems are not relayed (their transfers would go unrecorded).
    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn signal(
        &mut self,
        _channel: ChannelId,
        _signal: Sig,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}
