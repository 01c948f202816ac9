//! Verification (server side) and signing (the CLI client) of Huawei Cloud `SDK-HMAC-SHA256` request signatures,
//! as produced by the official SDKs (`huaweicloudsdkcore` `Signer`; spec:
//! `osm-authorization-api.md` §6.2).
//!
//! Typical use in a handler:
//! 1. [`parse_authorization`] on the `Authorization` header value;
//! 2. look up the secret key for [`SignatureHeader::access_key`];
//! 3. [`verify`] with the raw request and the current time.
//!
//! The module is framework independent: the caller hands over the request as
//! [`RawRequest`]. The `host` entry must be the `Host` header exactly as
//! received (port included); for HTTP/2 pass `:authority` under the name `host`.
//!
//! Choices made where the spec leaves room:
//! * Repeated headers: the Python signer keeps one value per header name, so a
//!   request it signed never repeats a signed header. A signed header that
//!   appears more than once is rejected ([`SignatureError::SignedHeaderRepeated`])
//!   rather than guessing which copy was signed; unsigned headers may repeat.
//! * `X-Sdk-Content-Sha256` replaces the body hash (§6.2.2) only when it is
//!   itself listed in `SignedHeaders` (the SDK always signs it). An unsigned one
//!   is rejected: honouring it would let anyone swap the body of a captured request.
//! * Percent-decoding is strict: `%` must be followed by two hex digits and the
//!   decoded bytes must be UTF-8 (the SDK only ever sends such input; Python's
//!   lenient `unquote` would otherwise have to be imitated byte for byte).
//! * Query: empty `&`-separated pieces are skipped; `k` and `k=` both mean an
//!   empty value; `+` stays a literal plus.
//! * Authorization: the §6.2.3 regex is followed exactly (single spaces, `", "`
//!   separators, 64 lower-case hex digits), except that the access key must be
//!   visible ASCII and header names must be HTTP tokens (lower-cased, no duplicates).

use hmac::{Hmac, KeyInit, Mac, digest::CtOutput};
use jiff::{SignedDuration, Timestamp, civil::DateTime, tz::TimeZone};
use sha2::{Digest, Sha256};

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Maximum allowed distance between `X-Sdk-Date` and server time (APIG rule).
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(15);

const HOST: &str = "host";
const SDK_DATE: &str = "x-sdk-date";
const CONTENT_SHA256: &str = "x-sdk-content-sha256";

/// Longest algorithm name echoed back in an error; longer ones are "malformed".
const MAX_ALGORITHM_NAME: usize = 64;
/// Longest excerpt of client input quoted in an error message.
const MAX_EXCERPT_CHARS: usize = 40;

/// Why a request signature was rejected. Messages are fit for API clients and
/// never contain the signature the server expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("unsupported signing algorithm `{0}`: only SDK-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm(String),
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    #[error("SignedHeaders must include `{0}`")]
    RequiredHeaderNotSigned(&'static str),
    #[error("signed header `{0}` is not present in the request")]
    SignedHeaderAbsent(String),
    #[error("header `{0}` appears more than once in the request; it must have exactly one value")]
    SignedHeaderRepeated(String),
    #[error("value of signed header `{0}` is not valid UTF-8")]
    HeaderValueNotUtf8(String),
    #[error("X-Sdk-Content-Sha256 is present but not listed in SignedHeaders")]
    ContentSha256NotSigned,
    #[error("missing X-Sdk-Date header")]
    MissingSdkDate,
    #[error("malformed X-Sdk-Date {0:?}: expected UTC time as YYYYMMDDTHHMMSSZ")]
    MalformedSdkDate(String),
    #[error("X-Sdk-Date {sdk_date} is more than 15 minutes away from server time {server_time}")]
    DateOutsideWindow {
        sdk_date: Timestamp,
        server_time: Timestamp,
    },
    #[error("invalid percent-encoding in the request {part}: {reason}")]
    InvalidPercentEncoding {
        part: &'static str,
        reason: &'static str,
    },
    #[error("signature mismatch")]
    SignatureMismatch,
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub access_key: String,
    /// Lower-case, in the order given by the client.
    pub signed_headers: Vec<String>,
    /// The signature the client sent (not a secret).
    pub signature: [u8; 32],
}

/// What the server saw, raw.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// Path before `?`, still percent-encoded.
    pub raw_path: &'a str,
    /// Text after `?`, still percent-encoded; `None` when there is no `?`.
    pub raw_query: Option<&'a str>,
    /// Headers as received: names in any case, values as raw bytes, may repeat.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

// ---------------------------------------------------------------------------
// Authorization header
// ---------------------------------------------------------------------------

/// Parses `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>`.
pub fn parse_authorization(value: &str) -> Result<SignatureHeader, SignatureError> {
    let value = value.trim_matches([' ', '\t']);
    let (algorithm, credentials) = value.split_once(' ').unwrap_or((value, ""));
    check_algorithm(algorithm)?;

    let rest = credentials
        .strip_prefix("Access=")
        .ok_or(malformed("expected `Access=` after the algorithm name"))?;
    let (access_key, rest) = rest.split_once(", SignedHeaders=").ok_or(malformed(
        "expected `, SignedHeaders=` after the access key",
    ))?;
    let (signed_headers, signature) = rest.split_once(", Signature=").ok_or(malformed(
        "expected `, Signature=` after the signed headers",
    ))?;

    Ok(SignatureHeader {
        access_key: parse_access_key(access_key)?,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: parse_signature_hex(signature)?,
    })
}

fn malformed(reason: &'static str) -> SignatureError {
    SignatureError::MalformedAuthorization(reason)
}

fn check_algorithm(algorithm: &str) -> Result<(), SignatureError> {
    if algorithm == ALGORITHM {
        return Ok(());
    }
    // Only echo names that look like an algorithm; anything else is garbage.
    let looks_like_name = !algorithm.is_empty()
        && algorithm.len() <= MAX_ALGORITHM_NAME
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if looks_like_name {
        Err(SignatureError::UnsupportedAlgorithm(algorithm.to_owned()))
    } else {
        Err(malformed("expected `SDK-HMAC-SHA256 Access=...`"))
    }
}

fn parse_access_key(access_key: &str) -> Result<String, SignatureError> {
    if access_key.is_empty() {
        return Err(malformed("access key is empty"));
    }
    // Real AKs are alphanumeric; visible ASCII minus `,` is the regex's `[^,]+`
    // without spaces and control characters.
    let valid = access_key
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',');
    if !valid {
        return Err(malformed("access key contains invalid characters"));
    }
    Ok(access_key.to_owned())
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, SignatureError> {
    let mut names: Vec<String> = Vec::new();
    for name in list.split(';') {
        if name.is_empty() {
            return Err(malformed("SignedHeaders contains an empty header name"));
        }
        if !name.bytes().all(is_token_char) {
            return Err(malformed("SignedHeaders contains an invalid header name"));
        }
        let name = name.to_ascii_lowercase();
        if names.contains(&name) {
            return Err(malformed("SignedHeaders lists a header twice"));
        }
        names.push(name);
    }
    Ok(names)
}

/// RFC 9110 `tchar`: the characters allowed in a header name.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_signature_hex(hex_sig: &str) -> Result<[u8; 32], SignatureError> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex_sig.len() != 64 || !hex_sig.bytes().all(lower_hex) {
        return Err(malformed("Signature must be 64 lower-case hex digits"));
    }
    let mut signature = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut signature)
        .map_err(|_| malformed("Signature must be 64 lower-case hex digits"))?;
    Ok(signature)
}

// ---------------------------------------------------------------------------
// X-Sdk-Date
// ---------------------------------------------------------------------------

/// Parses an `X-Sdk-Date` value of the exact form `YYYYMMDDTHHMMSSZ` (UTC).
pub fn parse_sdk_date(value: &str) -> Result<Timestamp, SignatureError> {
    let bad = || SignatureError::MalformedSdkDate(excerpt(value.as_bytes()));
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(bad());
    }
    let field = |from: usize, to: usize| -> Option<i16> {
        let digits = &b[from..to];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0i16, |n, d| n * 10 + i16::from(d - b'0')),
        )
    };
    let parts = (
        field(0, 4),
        field(4, 6),
        field(6, 8),
        field(9, 11),
        field(11, 13),
        field(13, 15),
    );
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = parts else {
        return Err(bad());
    };
    // Two-digit fields are at most 99, so the narrowing casts are lossless.
    DateTime::new(y, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0)
        .and_then(|dt| TimeZone::UTC.to_timestamp(dt))
        .map_err(|_| bad())
}

fn check_clock_skew(signed_at: Timestamp, now: Timestamp) -> Result<(), SignatureError> {
    if now.duration_since(signed_at).abs() > MAX_CLOCK_SKEW {
        return Err(SignatureError::DateOutsideWindow {
            sdk_date: signed_at,
            server_time: now,
        });
    }
    Ok(())
}

/// A short, printable-safe piece of client input for error messages.
fn excerpt(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .take(MAX_EXCERPT_CHARS)
        .collect()
}

// ---------------------------------------------------------------------------
// Canonical request
// ---------------------------------------------------------------------------

/// Rebuilds the canonical request the client signed (§6.2.2), from the raw
/// request and the client's `SignedHeaders` (lower-case, in the given order).
pub fn canonical_request(
    req: &RawRequest<'_>,
    signed_headers: &[String],
) -> Result<String, SignatureError> {
    let uri = canonical_uri(req.raw_path)?;
    let query = canonical_query(req.raw_query.unwrap_or(""))?;
    let headers = canonical_headers(req.headers, signed_headers)?;
    let payload = payload_hash(req, signed_headers)?;
    Ok(format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{payload}",
        req.method.to_ascii_uppercase(),
        signed_headers.join(";"),
    ))
}

/// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex(SHA-256(canonical request))>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    let digest = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{sdk_date}\n{digest}")
}

/// HMAC-SHA256 of the string to sign, keyed with the secret key's bytes.
pub fn sign(secret_key: &[u8], string_to_sign: &str) -> [u8; 32] {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key)
        .expect("HMAC accepts keys of any length")
        .chain_update(string_to_sign.as_bytes())
        .finalize()
        .into_bytes()
        .into()
}

/// Client side: the `Authorization` value for `req`, signing every header it carries
/// (lower-cased and sorted, as the SDK does). `req` must carry `Host` and `X-Sdk-Date`.
pub fn authorization(
    access_key: &str,
    secret_key: &[u8],
    req: &RawRequest<'_>,
) -> Result<String, SignatureError> {
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    require_signed(&names, HOST)?;
    let sdk_date = sdk_date_value(req.headers)?;
    let canonical = canonical_request(req, &names)?;
    let signature = hex::encode(sign(secret_key, &string_to_sign(sdk_date, &canonical)));
    Ok(format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={signature}",
        names.join(";")
    ))
}

/// The `X-Sdk-Date` value for `at`, e.g. `20250101T080000Z`.
pub fn sdk_date(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Decode, split on `/` (so `%2F` becomes a separator, as in the SDK), re-encode
/// each segment, and make sure the result ends with `/`.
fn canonical_uri(raw_path: &str) -> Result<String, SignatureError> {
    let decoded = percent_decode(raw_path, "path")?;
    let mut uri = decoded
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    Ok(uri)
}

/// Decode every `key=value`, sort by (key, value) on the decoded text (Python
/// sorts before quoting), re-encode and join with `&`.
fn canonical_query(raw_query: &str) -> Result<String, SignatureError> {
    let mut pairs = raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(decode_query_pair)
        .collect::<Result<Vec<_>, _>>()?;
    // `String` orders bytewise, which for UTF-8 equals Python's code point order.
    pairs.sort();
    let rendered: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    Ok(rendered.join("&"))
}

fn decode_query_pair(piece: &str) -> Result<(String, String), SignatureError> {
    let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
    Ok((
        percent_decode(key, "query string")?,
        percent_decode(value, "query string")?,
    ))
}

/// One `name:value\n` line per signed header, values trimmed.
fn canonical_headers(
    headers: &[(&str, &[u8])],
    signed_headers: &[String],
) -> Result<String, SignatureError> {
    let mut block = String::new();
    for name in signed_headers {
        let raw = find_single_header(headers, name)?
            .ok_or_else(|| SignatureError::SignedHeaderAbsent(name.clone()))?;
        block.push_str(name);
        block.push(':');
        block.push_str(header_text(name, raw)?);
        block.push('\n');
    }
    Ok(block)
}

/// Hex SHA-256 of the body, or the signed `X-Sdk-Content-Sha256` value.
fn payload_hash(req: &RawRequest<'_>, signed_headers: &[String]) -> Result<String, SignatureError> {
    match find_single_header(req.headers, CONTENT_SHA256)? {
        None => Ok(hex::encode(Sha256::digest(req.body))),
        Some(_) if !is_signed(signed_headers, CONTENT_SHA256) => {
            Err(SignatureError::ContentSha256NotSigned)
        }
        Some(raw) => Ok(header_text(CONTENT_SHA256, raw)?.to_owned()),
    }
}

fn is_signed(signed_headers: &[String], name: &str) -> bool {
    signed_headers.iter().any(|h| h == name)
}

/// The value of header `name` (case-insensitive); an error if it repeats.
fn find_single_header<'a>(
    headers: &[(&str, &'a [u8])],
    name: &str,
) -> Result<Option<&'a [u8]>, SignatureError> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v);
    let first = values.next();
    if values.next().is_some() {
        return Err(SignatureError::SignedHeaderRepeated(name.to_owned()));
    }
    Ok(first)
}

/// Trimmed header value as text. The SDK sends non-ASCII values as raw UTF-8
/// and signs their UTF-8 encoding, so the bytes are used unchanged.
fn header_text<'a>(name: &str, raw: &'a [u8]) -> Result<&'a str, SignatureError> {
    std::str::from_utf8(raw.trim_ascii())
        .map_err(|_| SignatureError::HeaderValueNotUtf8(name.to_owned()))
}

// ---------------------------------------------------------------------------
// Percent-encoding (Python `quote(s, safe='~')` / strict `unquote`)
// ---------------------------------------------------------------------------

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes `%XX` escapes (`+` is left alone); the result must be UTF-8.
fn percent_decode(text: &str, part: &'static str) -> Result<String, SignatureError> {
    let invalid = |reason| SignatureError::InvalidPercentEncoding { part, reason };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hi = bytes.get(i + 1).and_then(|&b| hex_value(b));
        let lo = bytes.get(i + 2).and_then(|&b| hex_value(b));
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(invalid("`%` must be followed by two hex digits"));
        };
        out.push(hi << 4 | lo);
        i += 3;
    }
    String::from_utf8(out).map_err(|_| invalid("decoded bytes are not valid UTF-8"))
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// Full check of a request against its parsed `Authorization` header: required
/// signed headers (`host`, `x-sdk-date`), date format and ±15 min skew against
/// `now`, canonical request, HMAC and constant-time comparison.
pub fn verify(
    req: &RawRequest<'_>,
    header: &SignatureHeader,
    secret_key: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    require_signed(&header.signed_headers, HOST)?;
    require_signed(&header.signed_headers, SDK_DATE)?;
    let sdk_date = sdk_date_value(req.headers)?;
    check_clock_skew(parse_sdk_date(sdk_date)?, now)?;

    let canonical = canonical_request(req, &header.signed_headers)?;
    let expected = sign(secret_key, &string_to_sign(sdk_date, &canonical));
    if signatures_match(expected, header.signature) {
        Ok(())
    } else {
        Err(SignatureError::SignatureMismatch)
    }
}

/// Constant-time comparison: `CtOutput`'s `Eq` is the `ct_eq` that
/// `Mac::verify_slice` uses.
fn signatures_match(expected: [u8; 32], given: [u8; 32]) -> bool {
    CtOutput::<Hmac<Sha256>>::new(expected.into()) == CtOutput::new(given.into())
}

fn require_signed(signed_headers: &[String], name: &'static str) -> Result<(), SignatureError> {
    if is_signed(signed_headers, name) {
        Ok(())
    } else {
        Err(SignatureError::RequiredHeaderNotSigned(name))
    }
}

fn sdk_date_value<'a>(headers: &[(&str, &'a [u8])]) -> Result<&'a str, SignatureError> {
    let raw = find_single_header(headers, SDK_DATE)?.ok_or(SignatureError::MissingSdkDate)?;
    std::str::from_utf8(raw.trim_ascii())
        .map_err(|_| SignatureError::MalformedSdkDate(excerpt(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "HPUAEXAMPLEAK0000001";
    const SK: &[u8] = b"exampleSecretKey0000000000000000000000000";
    const DOMAIN: &[u8] = b"0123456789abcdef0123456789abcdef";
    const DATE: &str = "20250101T080000Z";
    const UA: &[u8] = b"huaweicloud-usdk-python/3.0";
    const HOST_NAME: &[u8] = b"osm.cn-south-1.myhuaweicloud.com";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn now() -> Timestamp {
        "2025-01-01T08:00:00Z".parse().unwrap()
    }

    fn names(list: &str) -> Vec<String> {
        list.split(';').map(str::to_owned).collect()
    }

    struct Vector {
        method: &'static str,
        path: &'static str,
        query: Option<&'static str>,
        headers: Vec<(&'static str, &'static [u8])>,
        body: &'static [u8],
        canonical: &'static str,
        string_to_sign: &'static str,
        authorization: &'static str,
        signature_hex: &'static str,
    }

    impl Vector {
        fn request(&self) -> RawRequest<'_> {
            RawRequest {
                method: self.method,
                raw_path: self.path,
                raw_query: self.query,
                headers: &self.headers,
                body: self.body,
            }
        }
    }

    fn vector1() -> Vector {
        Vector {
            method: "GET",
            path: "/v2/servicerequest/authorizations",
            query: Some("incident_id=CS2025%200101%2Fx&limit=10&offset=0&status=0"),
            headers: vec![
                ("Content-Type", b"application/json"),
                ("User-Agent", UA),
                ("X-Language", b"en-us"),
                ("X-Time-Zone", b"GMT+8"),
                ("X-Domain-Id", DOMAIN),
                ("X-Sdk-Date", DATE.as_bytes()),
                ("Host", HOST_NAME),
                // Added by `requests` after signing; must be ignored.
                ("Accept", b"*/*"),
                ("Accept-Encoding", b"gzip, deflate"),
                ("Connection", b"keep-alive"),
            ],
            body: b"",
            canonical: "GET\n\
                /v2/servicerequest/authorizations/\n\
                incident_id=CS2025%200101%2Fx&limit=10&offset=0&status=0\n\
                content-type:application/json\n\
                host:osm.cn-south-1.myhuaweicloud.com\n\
                user-agent:huaweicloud-usdk-python/3.0\n\
                x-domain-id:0123456789abcdef0123456789abcdef\n\
                x-language:en-us\n\
                x-sdk-date:20250101T080000Z\n\
                x-time-zone:GMT+8\n\
                \n\
                content-type;host;user-agent;x-domain-id;x-language;x-sdk-date;x-time-zone\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "SDK-HMAC-SHA256\n20250101T080000Z\n\
                c0b5b33d11848d361116a67db23ab62c3c1a0bc02bf00c330023df6460d9076c",
            authorization: "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, \
                SignedHeaders=content-type;host;user-agent;x-domain-id;x-language;x-sdk-date;x-time-zone, \
                Signature=d9171c100e3db03fd7cd5694552ec208efe87b43f77904b7527a2621ad4dea2b",
            signature_hex: "d9171c100e3db03fd7cd5694552ec208efe87b43f77904b7527a2621ad4dea2b",
        }
    }

    fn vector2() -> Vector {
        Vector {
            method: "PUT",
            path: "/v2/servicerequest/authorizations/Auth-123456/action",
            query: Some("action_id=reject"),
            headers: vec![
                ("content-type", b"application/json"),
                ("host", HOST_NAME),
                ("user-agent", UA),
                ("x-domain-id", DOMAIN),
                ("x-sdk-date", DATE.as_bytes()),
                ("content-length", b"56"),
            ],
            body: br#"{"reject_reason": "not needed", "group_id": "group-123"}"#,
            canonical: "PUT\n\
                /v2/servicerequest/authorizations/Auth-123456/action/\n\
                action_id=reject\n\
                content-type:application/json\n\
                host:osm.cn-south-1.myhuaweicloud.com\n\
                user-agent:huaweicloud-usdk-python/3.0\n\
                x-domain-id:0123456789abcdef0123456789abcdef\n\
                x-sdk-date:20250101T080000Z\n\
                \n\
                content-type;host;user-agent;x-domain-id;x-sdk-date\n\
                ef03e0d8c19fc2088fe07c189686070061d7e4317c46708a4f3022f8554c4c5e",
            string_to_sign: "SDK-HMAC-SHA256\n20250101T080000Z\n\
                f75b7b0d36d4a8f22cd5c0aa8892f959d794e5cca0e395704b44a6540c6d4d27",
            authorization: "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, \
                SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date, \
                Signature=b962606f3dce982955aa866272f6129601cb0bac584374caf6280bdcf7d6d675",
            signature_hex: "b962606f3dce982955aa866272f6129601cb0bac584374caf6280bdcf7d6d675",
        }
    }

    fn vector3() -> Vector {
        Vector {
            method: "GET",
            path: "/v2/servicerequest/authorizations/Auth%201%2F2",
            query: Some("group_id=g%2B1"),
            headers: vec![
                ("Host", b"127.0.0.1:8080"),
                ("X-Site", b"1"),
                ("X-Security-Token", b"temp-security-token-xyz"),
                ("Content-Type", b"application/json"),
                ("User-Agent", UA),
                ("X-Domain-Id", DOMAIN),
                ("X-Sdk-Date", DATE.as_bytes()),
            ],
            body: b"",
            canonical: "GET\n\
                /v2/servicerequest/authorizations/Auth%201/2/\n\
                group_id=g%2B1\n\
                content-type:application/json\n\
                host:127.0.0.1:8080\n\
                user-agent:huaweicloud-usdk-python/3.0\n\
                x-domain-id:0123456789abcdef0123456789abcdef\n\
                x-sdk-date:20250101T080000Z\n\
                x-security-token:temp-security-token-xyz\n\
                x-site:1\n\
                \n\
                content-type;host;user-agent;x-domain-id;x-sdk-date;x-security-token;x-site\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "SDK-HMAC-SHA256\n20250101T080000Z\n\
                a67dcf73c64e0f369c7b3e787903265b7ee8ea041546e16c6629a8c7c4bf3952",
            authorization: "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, \
                SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date;x-security-token;x-site, \
                Signature=6008ab15d219c762351eabe10d2985d04087f3fd7814ea1b1b6ebead97954be9",
            signature_hex: "6008ab15d219c762351eabe10d2985d04087f3fd7814ea1b1b6ebead97954be9",
        }
    }

    fn check_vector(v: &Vector) {
        let header = parse_authorization(v.authorization).unwrap();
        assert_eq!(header.access_key, AK);
        assert_eq!(hex::encode(header.signature), v.signature_hex);

        let req = v.request();
        let canonical = canonical_request(&req, &header.signed_headers).unwrap();
        assert_eq!(canonical, v.canonical);
        let to_sign = string_to_sign(DATE, &canonical);
        assert_eq!(to_sign, v.string_to_sign);
        assert_eq!(hex::encode(sign(SK, &to_sign)), v.signature_hex);
        assert_eq!(verify(&req, &header, SK, now()), Ok(()));
        // The client side signs the same request, before the transport added its
        // unsigned headers, into the same header.
        let signed: Vec<(&str, &[u8])> = req
            .headers
            .iter()
            .copied()
            .filter(|(name, _)| is_signed(&header.signed_headers, &name.to_ascii_lowercase()))
            .collect();
        let before_transport = RawRequest {
            headers: &signed,
            ..req
        };
        assert_eq!(
            authorization(AK, SK, &before_transport).unwrap(),
            v.authorization
        );
        assert_eq!(sdk_date(now()), DATE);
    }

    #[test]
    fn vector1_list_authorizations() {
        check_vector(&vector1());
    }

    #[test]
    fn vector2_update_authorizations_with_body() {
        let v = vector2();
        assert_eq!(v.body.len(), 56);
        check_vector(&v);
    }

    #[test]
    fn vector3_temporary_credentials_port_and_slash_in_id() {
        check_vector(&vector3());
    }

    #[test]
    fn parsed_header_keeps_signed_header_order() {
        let header = parse_authorization(vector2().authorization).unwrap();
        assert_eq!(
            header.signed_headers,
            names("content-type;host;user-agent;x-domain-id;x-sdk-date")
        );
    }

    #[test]
    fn wrong_secret_key_is_a_mismatch() {
        let v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        let err = verify(&v.request(), &header, b"otherSecret", now()).unwrap_err();
        assert_eq!(err, SignatureError::SignatureMismatch);
    }

    #[test]
    fn tampered_body_is_rejected() {
        let v = vector2();
        let header = parse_authorization(v.authorization).unwrap();
        let tampered = br#"{"reject_reason": "not needed", "group_id": "group-124"}"#;
        let req = RawRequest {
            body: tampered,
            ..v.request()
        };
        assert_eq!(
            verify(&req, &header, SK, now()),
            Err(SignatureError::SignatureMismatch)
        );
    }

    #[test]
    fn tampered_query_is_rejected() {
        let v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        let req = RawRequest {
            raw_query: Some("incident_id=CS2025%200101%2Fx&limit=100&offset=0&status=0"),
            ..v.request()
        };
        assert_eq!(
            verify(&req, &header, SK, now()),
            Err(SignatureError::SignatureMismatch)
        );
    }

    #[test]
    fn tampered_path_is_rejected() {
        let v = vector2();
        let header = parse_authorization(v.authorization).unwrap();
        let req = RawRequest {
            raw_path: "/v2/servicerequest/authorizations/Auth-654321/action",
            ..v.request()
        };
        assert_eq!(
            verify(&req, &header, SK, now()),
            Err(SignatureError::SignatureMismatch)
        );
    }

    #[test]
    fn tampered_signed_header_is_rejected() {
        let mut v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        v.headers[4] = ("X-Domain-Id", b"ffffffffffffffffffffffffffffffff");
        assert_eq!(
            verify(&v.request(), &header, SK, now()),
            Err(SignatureError::SignatureMismatch)
        );
    }

    #[test]
    fn unsigned_headers_may_change_or_repeat() {
        let mut v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        v.headers.push(("Accept", b"application/json"));
        v.headers.push(("X-Forwarded-For", b"10.0.0.1"));
        assert_eq!(verify(&v.request(), &header, SK, now()), Ok(()));
    }

    #[test]
    fn header_names_match_case_insensitively_and_values_are_trimmed() {
        let mut v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        v.headers[0] = ("CONTENT-TYPE", b"  application/json\t");
        v.headers[6] = ("hOsT", b" osm.cn-south-1.myhuaweicloud.com ");
        assert_eq!(verify(&v.request(), &header, SK, now()), Ok(()));
    }

    #[test]
    fn repeated_signed_header_is_rejected() {
        let mut v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        v.headers.push(("x-language", b"zh-cn"));
        assert_eq!(
            verify(&v.request(), &header, SK, now()),
            Err(SignatureError::SignedHeaderRepeated("x-language".into()))
        );
    }

    /// Signs `req` like the SDK would and returns the parsed Authorization
    /// header, for tests that need fresh signatures.
    fn sign_request(req: &RawRequest<'_>, signed: &str, sdk_date: &str) -> SignatureHeader {
        let signed_headers = names(signed);
        let canonical = canonical_request(req, &signed_headers).unwrap();
        let signature = sign(SK, &string_to_sign(sdk_date, &canonical));
        let value = format!(
            "{ALGORITHM} Access={AK}, SignedHeaders={signed}, Signature={}",
            hex::encode(signature)
        );
        parse_authorization(&value).unwrap()
    }

    fn request_at<'a>(headers: &'a [(&'a str, &'a [u8])]) -> RawRequest<'a> {
        RawRequest {
            method: "GET",
            raw_path: "/v2/servicerequest/authorizations",
            raw_query: None,
            headers,
            body: b"",
        }
    }

    fn verify_with_date_offset(minutes: i64) -> Result<(), SignatureError> {
        let signed_at = now()
            .checked_add(SignedDuration::from_mins(minutes))
            .unwrap();
        let sdk_date = signed_at.strftime("%Y%m%dT%H%M%SZ").to_string();
        let headers = [("Host", HOST_NAME), ("X-Sdk-Date", sdk_date.as_bytes())];
        let req = request_at(&headers);
        let header = sign_request(&req, "host;x-sdk-date", &sdk_date);
        verify(&req, &header, SK, now())
    }

    #[test]
    fn date_within_fifteen_minutes_is_accepted() {
        assert_eq!(verify_with_date_offset(14), Ok(()));
        assert_eq!(verify_with_date_offset(-14), Ok(()));
        assert_eq!(verify_with_date_offset(15), Ok(()));
    }

    #[test]
    fn date_twenty_minutes_off_is_rejected() {
        for minutes in [20, -20] {
            let err = verify_with_date_offset(minutes).unwrap_err();
            assert!(
                matches!(err, SignatureError::DateOutsideWindow { .. }),
                "{err}"
            );
        }
        assert_eq!(
            verify_with_date_offset(-20).unwrap_err().to_string(),
            "X-Sdk-Date 2025-01-01T07:40:00Z is more than 15 minutes away \
             from server time 2025-01-01T08:00:00Z"
        );
    }

    #[test]
    fn missing_required_signed_headers_are_rejected() {
        let headers = [("Host", HOST_NAME), ("X-Sdk-Date", DATE.as_bytes())];
        let req = request_at(&headers);
        let no_host = sign_request(&req, "x-sdk-date", DATE);
        assert_eq!(
            verify(&req, &no_host, SK, now()),
            Err(SignatureError::RequiredHeaderNotSigned("host"))
        );
        let no_date = sign_request(&req, "host", DATE);
        assert_eq!(
            verify(&req, &no_date, SK, now()),
            Err(SignatureError::RequiredHeaderNotSigned("x-sdk-date"))
        );
    }

    #[test]
    fn signed_header_absent_from_request_is_rejected() {
        let mut v = vector1();
        let header = parse_authorization(v.authorization).unwrap();
        v.headers.retain(|(name, _)| *name != "X-Language");
        let err = verify(&v.request(), &header, SK, now()).unwrap_err();
        assert_eq!(err, SignatureError::SignedHeaderAbsent("x-language".into()));
        assert_eq!(
            err.to_string(),
            "signed header `x-language` is not present in the request"
        );
    }

    #[test]
    fn missing_or_malformed_sdk_date_is_rejected() {
        let v = vector1();
        let header = parse_authorization(v.authorization).unwrap();

        let mut without = vector1();
        without.headers.retain(|(name, _)| *name != "X-Sdk-Date");
        assert_eq!(
            verify(&without.request(), &header, SK, now()),
            Err(SignatureError::MissingSdkDate)
        );

        let mut iso = vector1();
        iso.headers[5] = ("X-Sdk-Date", b"2025-01-01T08:00:00Z");
        assert!(matches!(
            verify(&iso.request(), &header, SK, now()),
            Err(SignatureError::MalformedSdkDate(_))
        ));
    }

    #[test]
    fn sdk_date_parsing() {
        assert_eq!(parse_sdk_date(DATE), Ok(now()));
        assert_eq!(
            parse_sdk_date("20240229T235959Z"),
            Ok("2024-02-29T23:59:59Z".parse().unwrap())
        );
        for bad in [
            "",
            "20250101T080000",
            "20250101T080000z",
            "20250101 080000Z",
            "2025-01-01T08:00:00Z",
            "20250101T080000Z ",
            "20251301T080000Z",
            "20250230T080000Z",
            "20250101T240000Z",
            "20250101T086000Z",
            "2025010aT080000Z",
            "+0250101T080000Z",
        ] {
            assert!(
                matches!(
                    parse_sdk_date(bad),
                    Err(SignatureError::MalformedSdkDate(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        for algorithm in [
            "SDK-HMAC-SM3",
            "SDK-ECDSA-P256-SHA256",
            "SDK-SM2-SM3",
            "V11-HMAC-SHA256",
            "sdk-hmac-sha256",
        ] {
            let value = format!(
                "{algorithm} Access={AK}, SignedHeaders=host;x-sdk-date, Signature={}",
                "0".repeat(64)
            );
            assert_eq!(
                parse_authorization(&value),
                Err(SignatureError::UnsupportedAlgorithm(algorithm.into()))
            );
        }
        let v11 =
            "V11-HMAC-SHA256 Credential=AK/20250101/globe/osm, SignedHeaders=host, Signature=ab";
        let err = parse_authorization(v11).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported signing algorithm `V11-HMAC-SHA256`: only SDK-HMAC-SHA256 is accepted"
        );
    }

    #[test]
    fn malformed_authorization_headers_are_rejected() {
        let sig = "d9171c100e3db03fd7cd5694552ec208efe87b43f77904b7527a2621ad4dea2b";
        let cases = [
            String::new(),
            "SDK-HMAC-SHA256".into(),
            "Basic=abc".into(),
            format!("SDK-HMAC-SHA256 Access={AK},SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256  Access={AK}, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=A K, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=ho st, Signature={sig}"),
            format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={}",
                &sig[..62]
            ),
            format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={}",
                sig.to_uppercase()
            ),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={sig}, Extra=1"),
            format!("SDK-HMAC-SHA256 Signature={sig}, Access={AK}, SignedHeaders=host"),
        ];
        for value in &cases {
            assert!(
                matches!(
                    parse_authorization(value),
                    Err(SignatureError::MalformedAuthorization(_))
                ),
                "{value:?}"
            );
        }
    }

    #[test]
    fn signed_header_names_are_lower_cased() {
        let value = format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=Host;X-Sdk-Date, Signature={}",
            "a".repeat(64)
        );
        let header = parse_authorization(&value).unwrap();
        assert_eq!(header.signed_headers, names("host;x-sdk-date"));
    }

    #[test]
    fn mismatch_error_does_not_reveal_expected_signature() {
        let v = vector1();
        let mut header = parse_authorization(v.authorization).unwrap();
        header.signature[0] ^= 1;
        let err = verify(&v.request(), &header, SK, now()).unwrap_err();
        assert_eq!(err.to_string(), "signature mismatch");
        assert!(!format!("{err:?}").contains(v.signature_hex));
    }

    #[test]
    fn path_percent_encoding_round_trips() {
        // What Python's `quote(seg, safe='~')` produces is a fixed point.
        let encoded = "/a/%20%2B%26%3D~%2A%C3%A9%E4%B8%AD-_.";
        assert_eq!(canonical_uri(encoded).unwrap(), format!("{encoded}/"));
        // Lower-case hex, literal `+`, `*`, raw non-ASCII and `%7E` normalise.
        assert_eq!(
            canonical_uri("/a/x+y*%c3%a9中%7E").unwrap(),
            "/a/x%2By%2A%C3%A9%E4%B8%AD~/"
        );
    }

    #[test]
    fn encoded_slash_in_path_becomes_a_separator() {
        assert_eq!(
            canonical_uri("/authorizations/Auth%201%2F2%2B3").unwrap(),
            "/authorizations/Auth%201/2%2B3/"
        );
        assert_eq!(canonical_uri("/a/b%2F").unwrap(), "/a/b/");
    }

    #[test]
    fn root_and_trailing_slash_paths() {
        assert_eq!(canonical_uri("").unwrap(), "/");
        assert_eq!(canonical_uri("/").unwrap(), "/");
        assert_eq!(canonical_uri("/a/").unwrap(), "/a/");
        assert_eq!(canonical_uri("/a//b").unwrap(), "/a//b/");
    }

    #[test]
    fn query_percent_encoding_round_trips() {
        // The query the SDK sends for sub_customer_name="a+b c~d*é",
        // simple_description="x&y=z" (§6.2.3), plus a CJK value.
        let sent = "simple_description=x%26y%3Dz&status=1\
                    &sub_customer_name=a%2Bb%20c~d%2A%C3%A9&z=%E4%B8%AD";
        assert_eq!(canonical_query(sent).unwrap(), sent);
    }

    #[test]
    fn query_plus_is_literal_not_space() {
        assert_eq!(canonical_query("q=a+b").unwrap(), "q=a%2Bb");
        assert_eq!(canonical_query("q=a%20b").unwrap(), "q=a%20b");
    }

    #[test]
    fn query_pairs_sort_by_decoded_key_then_value() {
        assert_eq!(canonical_query("b=2&a=2&a=1").unwrap(), "a=1&a=2&b=2");
        // Decoded `~` (0x7E) sorts before `é` (0xC3); the encoded forms would not.
        assert_eq!(canonical_query("%C3%A9=1&~=2").unwrap(), "~=2&%C3%A9=1");
    }

    #[test]
    fn query_edge_cases() {
        assert_eq!(canonical_query("").unwrap(), "");
        assert_eq!(canonical_query("flag").unwrap(), "flag=");
        assert_eq!(canonical_query("flag=").unwrap(), "flag=");
        assert_eq!(canonical_query("a=b=c").unwrap(), "a=b%3Dc");
        assert_eq!(canonical_query("&a=1&&b=2&").unwrap(), "a=1&b=2");
    }

    #[test]
    fn invalid_percent_encoding_is_rejected() {
        for path in ["/a%", "/a%2", "/a%zz", "/a%C3"] {
            assert!(
                matches!(
                    canonical_uri(path),
                    Err(SignatureError::InvalidPercentEncoding { part: "path", .. })
                ),
                "{path}"
            );
        }
        for query in ["a=%", "a%G1=1", "a=%FF"] {
            assert!(
                matches!(
                    canonical_query(query),
                    Err(SignatureError::InvalidPercentEncoding {
                        part: "query string",
                        ..
                    })
                ),
                "{query}"
            );
        }
    }

    #[test]
    fn non_ascii_header_value_is_signed_as_utf8() {
        let headers = [
            ("Host", HOST_NAME),
            ("X-Sdk-Date", DATE.as_bytes()),
            ("X-Language", "  Zürich 中文 ".as_bytes()),
        ];
        let req = request_at(&headers);
        let header = sign_request(&req, "host;x-language;x-sdk-date", DATE);
        let canonical = canonical_request(&req, &header.signed_headers).unwrap();
        assert!(canonical.contains("\nx-language:Zürich 中文\n"));
        assert_eq!(verify(&req, &header, SK, now()), Ok(()));
    }

    #[test]
    fn non_utf8_signed_header_value_is_rejected() {
        let headers: [(&str, &[u8]); 3] = [
            ("Host", HOST_NAME),
            ("X-Sdk-Date", DATE.as_bytes()),
            ("X-Language", b"\xff\xfe"),
        ];
        let req = request_at(&headers);
        assert_eq!(
            canonical_request(&req, &names("host;x-language;x-sdk-date")),
            Err(SignatureError::HeaderValueNotUtf8("x-language".into()))
        );
    }

    #[test]
    fn signed_content_sha256_replaces_body_hash() {
        let headers = [
            ("Host", HOST_NAME),
            ("X-Sdk-Date", DATE.as_bytes()),
            ("X-Sdk-Content-Sha256", b"UNSIGNED-PAYLOAD"),
        ];
        let req = RawRequest {
            body: b"anything",
            ..request_at(&headers)
        };
        let header = sign_request(&req, "host;x-sdk-content-sha256;x-sdk-date", DATE);
        let canonical = canonical_request(&req, &header.signed_headers).unwrap();
        assert!(canonical.ends_with("\nUNSIGNED-PAYLOAD"));
        assert_eq!(verify(&req, &header, SK, now()), Ok(()));
    }

    #[test]
    fn unsigned_content_sha256_is_rejected() {
        // Otherwise an attacker could replay a captured request with another
        // body by adding the original body's hash in this header.
        let v = vector2();
        let header = parse_authorization(v.authorization).unwrap();
        let mut headers = v.headers.clone();
        headers.push((
            "X-Sdk-Content-Sha256",
            b"ef03e0d8c19fc2088fe07c189686070061d7e4317c46708a4f3022f8554c4c5e",
        ));
        let req = RawRequest {
            headers: &headers,
            body: b"{}",
            ..v.request()
        };
        assert_eq!(
            verify(&req, &header, SK, now()),
            Err(SignatureError::ContentSha256NotSigned)
        );
    }

    #[test]
    fn empty_body_hash_and_method_case() {
        let headers = [("Host", HOST_NAME), ("X-Sdk-Date", DATE.as_bytes())];
        let req = RawRequest {
            method: "get",
            ..request_at(&headers)
        };
        let canonical = canonical_request(&req, &names("host;x-sdk-date")).unwrap();
        assert!(canonical.starts_with("GET\n/v2/servicerequest/authorizations/\n\n"));
        assert!(canonical.ends_with(EMPTY_SHA256));
    }
}
