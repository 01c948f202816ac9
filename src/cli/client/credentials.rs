//! Who the client speaks as: an access key from the environment, as the official SDKs
//! read it, or the token `login` saved.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ClientError;
use crate::domain::secret::Secret;

pub const ACCESS_KEY_VAR: &str = "HUAWEICLOUD_SDK_AK";
pub const SECRET_KEY_VAR: &str = "HUAWEICLOUD_SDK_SK";
pub const DOMAIN_ID_VAR: &str = "HUAWEICLOUD_SDK_DOMAIN_ID";

pub enum Credentials {
    /// Requests are signed with `SDK-HMAC-SHA256`.
    AccessKey {
        access_key: String,
        secret_key: Secret,
        domain_id: Option<String>,
    },
    /// Requests carry `X-Auth-Token`.
    Token(Secret),
}

/// What `login` keeps: the token and what it is good for.
#[derive(Serialize, Deserialize)]
pub struct SavedLogin {
    pub endpoint: String,
    pub domain: String,
    pub user: String,
    pub token: String,
    pub expires_at: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `$XDG_CONFIG_HOME/support-access`, else `~/.config/support-access`.
fn config_dir() -> Result<PathBuf, ClientError> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| ClientError::Usage("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
    Ok(base.join("support-access"))
}

pub fn login_file() -> Result<PathBuf, ClientError> {
    Ok(config_dir()?.join("login.json"))
}

/// The access key in the environment if there is one, else the saved login for
/// `endpoint`.
pub fn resolve(endpoint: &str) -> Result<Credentials, ClientError> {
    match (env(ACCESS_KEY_VAR), env(SECRET_KEY_VAR)) {
        (Some(access_key), Some(secret_key)) => {
            return Ok(Credentials::AccessKey {
                access_key,
                secret_key: Secret::new(secret_key),
                domain_id: env(DOMAIN_ID_VAR),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ClientError::Usage(format!(
                "{ACCESS_KEY_VAR} and {SECRET_KEY_VAR} must be set together"
            )));
        }
        (None, None) => {}
    }
    let path = login_file()?;
    let not_logged_in = || {
        ClientError::Usage(format!(
            "not logged in to {endpoint}: run `support-access login` or set {ACCESS_KEY_VAR} and {SECRET_KEY_VAR}"
        ))
    };
    let text = std::fs::read_to_string(&path).map_err(|_| not_logged_in())?;
    let saved: SavedLogin = serde_json::from_str(&text).map_err(|e| {
        ClientError::Usage(format!("{} is damaged ({e}): log in again", path.display()))
    })?;
    if saved.endpoint != endpoint {
        return Err(not_logged_in());
    }
    Ok(Credentials::Token(Secret::new(saved.token)))
}

/// Saves `login` readable by the user alone (the directory 0700, the file 0600).
pub fn save(login: &SavedLogin) -> Result<PathBuf, ClientError> {
    let path = login_file()?;
    let dir = config_dir()?;
    let failed =
        |e: std::io::Error| ClientError::Failed(format!("cannot save {}: {e}", path.display()));
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let text = serde_json::to_string_pretty(login).expect("a login serialises");
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
        // A file left by an older version may be wider: narrow it before writing.
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, text).map_err(failed)?;
    Ok(path)
}

/// Forgets the saved login; true if there was one.
pub fn forget() -> Result<bool, ClientError> {
    let path = login_file()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ClientError::Failed(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}
