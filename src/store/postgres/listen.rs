//! `LISTEN` on a connection of its own for changes that end access (see migration
//! 0005), so every instance can cut its live broker sessions at once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config};

use tokio_postgres_rustls::MakeRustlsConnect;

const CHANNEL: &str = "support_access_access";

/// A signal per batch of notifications, and one after every (re)connect, since
/// notifications sent while disconnected are lost. Stops when the receiver is dropped.
pub fn spawn(config: Config, tls: MakeRustlsConnect) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while !tx.is_closed() {
            if let Err(e) = listen(&config, tls.clone(), &tx).await {
                tracing::warn!(error = %crate::causes::Causes(&e), "PostgreSQL LISTEN connection lost; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    rx
}

async fn listen(
    config: &Config,
    tls: MakeRustlsConnect,
    tx: &mpsc::Sender<()>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    let notify = tx.clone();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    let _ = notify.try_send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    let _ = tx.try_send(());
    let _ = driver.await;
    Ok(())
}
