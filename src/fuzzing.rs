//! Entry points of the fuzz targets (`fuzz/`), shared with the test that replays their
//! corpus on stable Rust: each takes arbitrary bytes and must neither panic nor hang.

use crate::auth::sdk_signature::parse_authorization;
use crate::http::input::parse_json;
use crate::http::wire;

/// The `Authorization` header parser of `SDK-HMAC-SHA256`.
pub fn signature_header(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_authorization(text);
    }
}

/// The JSON body extractor, for every body the API reads. The first byte picks the
/// body type, so one corpus covers them all.
pub fn json_body(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => drop(parse_json::<wire::RaiseBody>(body)),
        1 => drop(parse_json::<wire::ConfirmBody>(body)),
        2 => drop(parse_json::<wire::ActionBody>(body)),
        3 => drop(parse_json::<wire::VerifyHostBody>(body)),
        4 => drop(parse_json::<wire::OperationsBody>(body)),
        5 => drop(parse_json::<wire::FileTransfersBody>(body)),
        6 => drop(parse_json::<wire::RecallBody>(body)),
        _ => drop(parse_json::<wire::TokenRequest>(body)),
    }
}
