//! Identifiers. All are random (unguessable, never sequential) and unique across tenants.
//!
//! Detail and session ids travel as JSON numbers, so they stay below 2^53: a browser's
//! `JSON.parse` would silently round anything larger. Authorization ids travel as
//! decimal strings and use the full positive 63-bit range.

use super::validation::{Rule, ValidationError};

const JSON_SAFE_MAX: i64 = (1 << 53) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorizationId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DetailId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub i64);

/// Maps 64 random bits into `1..=max`.
pub fn random_in(random: u64, max: i64) -> i64 {
    (random % max as u64) as i64 + 1
}

impl AuthorizationId {
    pub fn from_random(random: u64) -> Self {
        AuthorizationId(random_in(random, i64::MAX - 1))
    }

    /// Reads a path segment. The id is documented as an opaque string of 1..32
    /// characters: longer is a validation error; anything that is not one of our
    /// decimal ids simply names nothing (`Ok(None)`, answered 404).
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let len = raw.chars().count();
        if len == 0 || len > 32 {
            return Err(ValidationError::new(
                "authorization_id",
                Rule::Length { min: 1, max: 32 },
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(raw
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .map(AuthorizationId))
    }
}

impl std::fmt::Display for AuthorizationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Reads a path segment documented as a Long (`authorization_detail_id`, `session_id`).
/// Non-numeric text is a validation error; a number that cannot be ours names nothing.
pub fn parse_long_id(field: &str, raw: &str) -> Result<Option<i64>, ValidationError> {
    let value: i64 = raw
        .parse()
        .map_err(|_| ValidationError::new(field, Rule::NotInteger))?;
    Ok((1..=JSON_SAFE_MAX).contains(&value).then_some(value))
}

impl DetailId {
    pub fn from_random(random: u64) -> Self {
        DetailId(random_in(random, JSON_SAFE_MAX))
    }
}

impl SessionId {
    pub fn from_random(random: u64) -> Self {
        SessionId(random_in(random, JSON_SAFE_MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_stay_in_range() {
        for r in [0, 1, u64::MAX, u64::MAX / 2, 1 << 53] {
            let a = AuthorizationId::from_random(r).0;
            assert!(a >= 1);
            let d = DetailId::from_random(r).0;
            assert!((1..=JSON_SAFE_MAX).contains(&d));
        }
    }

    #[test]
    fn authorization_id_parsing() {
        assert_eq!(AuthorizationId::parse("42"), Ok(Some(AuthorizationId(42))));
        assert_eq!(AuthorizationId::parse("Auth-123456"), Ok(None));
        assert_eq!(AuthorizationId::parse("0"), Ok(None));
        assert_eq!(AuthorizationId::parse("99999999999999999999"), Ok(None));
        assert!(AuthorizationId::parse(&"1".repeat(33)).is_err());
        assert!(AuthorizationId::parse("").is_err());
    }

    #[test]
    fn long_ids_must_be_numeric() {
        assert_eq!(parse_long_id("session_id", "7"), Ok(Some(7)));
        assert_eq!(parse_long_id("session_id", "-7"), Ok(None));
        assert!(parse_long_id("session_id", "abc").is_err());
    }
}
