//! Static files compiled into the binary, served under a name that carries a hash of
//! their content, so browsers may keep them for a year and a new build is fetched anew.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub struct Asset {
    /// e.g. `console.3f2a9c1d0b7e4f55.js`
    pub name: String,
    content_type: &'static str,
    body: &'static [u8],
}

pub fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let digest = Sha256::digest(body);
    Asset {
        name: format!("{stem}.{}.{ext}", hex::encode(&digest[..8])),
        content_type,
        body,
    }
}

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "console",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/console.js"),
    )
});

pub static STYLE: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "console",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    )
});

/// The terminal player of recorded and live sessions, vendored unchanged with its
/// licence (static/asciinema-player/).
pub static PLAYER_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "asciinema-player",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/asciinema-player/asciinema-player.min.js"),
    )
});

pub static PLAYER_STYLE: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "asciinema-player",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("static/asciinema-player/asciinema-player.css"),
    )
});

/// The URL of an asset.
pub fn url(asset: &Asset) -> String {
    format!("/console/static/{}", asset.name)
}

pub async fn serve(Path(name): Path<String>) -> Response {
    serve_one(&[&*SCRIPT, &*STYLE, &*PLAYER_SCRIPT, &*PLAYER_STYLE], &name)
}

/// The asset of `assets` named `name`, to be kept a year; 404 if there is none.
pub fn serve_one(assets: &[&Asset], name: &str) -> Response {
    let Some(asset) = assets.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.body,
    )
        .into_response()
}
