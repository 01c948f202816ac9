//! Time zones, wire time formats and durations.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

use super::validation::{Rule, ValidationError};

/// `X-Time-Zone`: `GMT`, `UTC`, `GMT+8`, `GMT-05:30`, `UTC+5:45` or an IANA name.
/// Default `GMT+8` (Huawei's documented default).
pub fn parse_time_zone(value: Option<&str>) -> Result<TimeZone, ValidationError> {
    let Some(raw) = value else {
        return Ok(TimeZone::fixed(jiff::tz::offset(8)));
    };
    let invalid = || ValidationError::new("X-Time-Zone", Rule::UnknownTimeZone);
    if raw.is_empty() || raw.chars().count() > 32 {
        return Err(ValidationError::new(
            "X-Time-Zone",
            Rule::Length { min: 1, max: 32 },
        ));
    }
    let trimmed = raw.trim();
    let upper = trimmed.to_ascii_uppercase();
    for prefix in ["GMT", "UTC"] {
        if let Some(rest) = upper.strip_prefix(prefix) {
            if rest.is_empty() {
                return Ok(TimeZone::UTC);
            }
            return parse_offset(rest).map(TimeZone::fixed).ok_or_else(invalid);
        }
    }
    // IANA names only: reject anything with odd characters before asking the tz database.
    let plausible = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b));
    if !plausible {
        return Err(invalid());
    }
    TimeZone::get(trimmed).map_err(|_| invalid())
}

/// `+8`, `-05:30`, `+5:45`, `+0800` → an offset within ±14 h.
fn parse_offset(rest: &str) -> Option<Offset> {
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    if hours.is_empty() || hours.len() > 2 || minutes.is_empty() || minutes.len() > 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// SDK-typed datetime fields: always UTC `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Plain-string time fields: wall-clock time in the request's zone.
pub fn format_wall(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Durations on the wire: `HH:MM:SS` (hours may exceed 99).
pub fn format_duration_ms(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// ConfirmAuthorizations times are epoch milliseconds; a value below 100 000 000 000
/// can only be seconds (it would be March 1973 in ms) and is read as such.
pub fn timestamp_from_request_millis(
    field: &str,
    value: i64,
) -> Result<Timestamp, ValidationError> {
    let millis = if value < 100_000_000_000 {
        value.saturating_mul(1000)
    } else {
        value
    };
    if value < 0 {
        return Err(ValidationError::new(field, Rule::InvalidTime));
    }
    Timestamp::from_millisecond(millis).map_err(|_| ValidationError::new(field, Rule::InvalidTime))
}

/// RFC 3339 times in provider request bodies.
pub fn parse_rfc3339(field: &str, value: &str) -> Result<Timestamp, ValidationError> {
    value
        .parse::<Timestamp>()
        .map_err(|_| ValidationError::new(field, Rule::InvalidTime))
}

/// A configuration duration such as `90s`, `15m`, `72h` or `30d`.
pub fn parse_config_duration(value: &str) -> Option<std::time::Duration> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_secs = match unit.trim() {
        "ms" => return Some(std::time::Duration::from_millis(n)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(n.checked_mul(unit_secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn zones_in_every_documented_form() {
        let t = ts("2026-01-01T00:00:00Z");
        let cases = [
            ("GMT", "2026-01-01 00:00:00"),
            ("UTC", "2026-01-01 00:00:00"),
            ("GMT+8", "2026-01-01 08:00:00"),
            ("GMT-05:30", "2025-12-31 18:30:00"),
            ("UTC+5:45", "2026-01-01 05:45:00"),
            ("gmt+0800", "2026-01-01 08:00:00"),
            ("Asia/Shanghai", "2026-01-01 08:00:00"),
            ("America/New_York", "2025-12-31 19:00:00"),
        ];
        for (zone, want) in cases {
            let tz = parse_time_zone(Some(zone)).unwrap_or_else(|e| panic!("{zone}: {e:?}"));
            assert_eq!(format_wall(t, &tz), want, "{zone}");
        }
        assert_eq!(
            format_wall(t, &parse_time_zone(None).unwrap()),
            "2026-01-01 08:00:00"
        );
    }

    #[test]
    fn bad_zones_are_refused() {
        for zone in [
            "GMT+15",
            "GMT+8:60",
            "Mars/Olympus",
            "GMT8",
            "",
            "../etc/passwd",
            "UTC+",
        ] {
            assert!(parse_time_zone(Some(zone)).is_err(), "{zone}");
        }
        assert!(parse_time_zone(Some(&"A".repeat(33))).is_err());
    }

    #[test]
    fn utc_format_is_the_sdk_safe_one() {
        assert_eq!(
            format_utc(ts("2026-11-28T08:00:00.123Z")),
            "2026-11-28T08:00:00Z"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_ms(0), "00:00:00");
        assert_eq!(format_duration_ms(3_723_000), "01:02:03");
        assert_eq!(format_duration_ms(360_000_000), "100:00:00");
    }

    #[test]
    fn request_times_are_millis_or_seconds() {
        let ms = timestamp_from_request_millis("t", 1_800_000_000_000).unwrap();
        let s = timestamp_from_request_millis("t", 1_800_000_000).unwrap();
        assert_eq!(ms, s);
        assert!(timestamp_from_request_millis("t", -1).is_err());
        assert!(timestamp_from_request_millis("t", i64::MAX).is_err());
    }

    #[test]
    fn config_durations() {
        assert_eq!(parse_config_duration("72h").unwrap().as_secs(), 72 * 3600);
        assert_eq!(parse_config_duration("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse_config_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_config_duration("soon").is_none());
    }
}
