//! Where the master key comes from: `SUPPORT_ACCESS_MASTER_KEY` (64 hex characters)
//! or a key file, created with mode 0600 at first start.

use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    Malformed,
    #[error("cannot read or create the master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub fn parse_hex(text: &str) -> Result<Zeroizing<[u8; 32]>, MasterKeyError> {
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut key[..]).map_err(|_| MasterKeyError::Malformed)?;
    Ok(key)
}

/// Reads the key file, or creates it with a fresh random key if it does not exist.
pub fn load_or_create(path: &Path) -> Result<Zeroizing<[u8; 32]>, MasterKeyError> {
    let io = |source| MasterKeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_hex(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut key = Zeroizing::new([0u8; 32]);
            rand::fill(&mut key[..]);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(hex::encode(&key[..]).as_bytes())
                .map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        assert_eq!(*first, *second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex(&"0".repeat(64)).is_ok());
    }
}
