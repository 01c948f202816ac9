//! Field validation: every rejected input names its field and the rule it broke.

use super::locale::Language;

/// Why a field was refused. Rendered in the caller's language by [`ValidationError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Required,
    /// Length in characters (not bytes), inclusive bounds.
    Length {
        min: usize,
        max: usize,
    },
    /// Integer value, inclusive bounds.
    Range {
        min: i64,
        max: i64,
    },
    NotInteger,
    /// The JSON member had the wrong type; `expected` is e.g. "integer" or "string".
    WrongType {
        expected: &'static str,
    },
    OneOf(&'static [&'static str]),
    /// Items in an array, inclusive bounds.
    Items {
        min: usize,
        max: usize,
    },
    InvalidJson,
    /// Not decodable at all (e.g. a broken query string).
    Malformed,
    UnknownTimeZone,
    InvalidTime,
    /// An `auth_detail_id` that is not a detail of this authorization.
    UnknownDetail(i64),
    DuplicateDetail(i64),
    /// A host detail needs an account and a password when confirmed.
    HostCredentialsRequired(i64),
    /// Every host detail must be granted on confirm.
    HostDetailMissing(i64),
    ExpireNotAfterEffective,
    ExpireInPast,
    WindowTooLong {
        max_hours: i64,
    },
    /// A recorded time outside the session it is recorded in.
    OutsideSession,
    /// The window starts further ahead than the longest window lasts.
    StartTooLate {
        max_hours: i64,
    },
    HostRequired,
    InvalidHost,
    /// The host resolves to an address outside `target_networks`.
    TargetNotAllowed,
    /// CheckHosts on a console detail (type 0).
    NotAHost,
    UnknownId,
    /// Not an accepted OpenSSH public key line.
    InvalidPublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub rule: Rule,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        Self {
            field: field.into(),
            rule,
        }
    }

    /// The full `error_msg`, naming the field and the rule.
    /// The field and the rule it broke, in English, e.g. for the admin CLI:
    /// `password must be 8 to 128 characters long`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.field, rule_en(&self.rule))
    }

    pub fn message(&self, lang: Language) -> String {
        let f = &self.field;
        match lang {
            Language::En => format!("Param validation failed: {f} {}.", rule_en(&self.rule)),
            Language::Zh => format!("参数校验失败：{f} {}。", rule_zh(&self.rule)),
        }
    }
}

fn rule_en(rule: &Rule) -> String {
    match rule {
        Rule::Required => "is required".into(),
        Rule::Length { min, max } => format!("must be {min} to {max} characters long"),
        Rule::Range { min, max } => format!("must be an integer from {min} to {max}"),
        Rule::NotInteger => "must be an integer".into(),
        Rule::WrongType { expected } => format!("must be a JSON {expected}"),
        Rule::OneOf(options) => format!("must be one of: {}", options.join(", ")),
        Rule::Items { min, max } => format!("must have {min} to {max} items"),
        Rule::InvalidJson => "is not valid JSON".into(),
        Rule::Malformed => "is malformed".into(),
        Rule::UnknownTimeZone => {
            "is not a known time zone (use e.g. GMT+8, UTC-05:30 or Asia/Shanghai)".into()
        }
        Rule::InvalidTime => "is not a valid time".into(),
        Rule::UnknownDetail(id) => {
            format!("refers to detail {id}, which is not part of this authorization")
        }
        Rule::DuplicateDetail(id) => format!("lists detail {id} more than once"),
        Rule::HostCredentialsRequired(id) => {
            format!("entry for host detail {id} needs an account and a password")
        }
        Rule::HostDetailMissing(id) => format!("must include host detail {id}"),
        Rule::ExpireNotAfterEffective => "must be later than auth_effective_time".into(),
        Rule::ExpireInPast => "must be in the future".into(),
        Rule::WindowTooLong { max_hours } => {
            format!("makes the authorization window longer than the maximum of {max_hours} hours")
        }
        Rule::StartTooLate { max_hours } => {
            format!("must be at most {max_hours} hours from now")
        }
        Rule::OutsideSession => "must fall within the session (up to now)".into(),
        Rule::HostRequired => "is required for a host detail (type 1)".into(),
        Rule::InvalidHost => "must be an IP address or a DNS host name".into(),
        Rule::TargetNotAllowed => "is not in a network this service may connect to".into(),
        Rule::NotAHost => "must name a host detail (type 1), not a console".into(),
        Rule::InvalidPublicKey => "must be one OpenSSH public key line: ssh-ed25519, \
            ecdsa-sha2-nistp256/384/521, or ssh-rsa of at least 3072 bits"
            .into(),
        Rule::UnknownId => "is not a known id".into(),
    }
}

fn rule_zh(rule: &Rule) -> String {
    match rule {
        Rule::Required => "为必填项".into(),
        Rule::Length { min, max } => format!("长度必须为 {min} 到 {max} 个字符"),
        Rule::Range { min, max } => format!("必须是 {min} 到 {max} 之间的整数"),
        Rule::NotInteger => "必须是整数".into(),
        Rule::WrongType { expected } => format!("必须是 JSON {expected}"),
        Rule::OneOf(options) => format!("必须是以下之一：{}", options.join(", ")),
        Rule::Items { min, max } => format!("必须包含 {min} 到 {max} 项"),
        Rule::InvalidJson => "不是合法的 JSON".into(),
        Rule::Malformed => "格式错误".into(),
        Rule::UnknownTimeZone => {
            "不是可识别的时区（例如 GMT+8、UTC-05:30 或 Asia/Shanghai）".into()
        }
        Rule::InvalidTime => "不是合法的时间".into(),
        Rule::UnknownDetail(id) => format!("引用的授权详情 {id} 不属于该授权"),
        Rule::DuplicateDetail(id) => format!("重复包含授权详情 {id}"),
        Rule::HostCredentialsRequired(id) => format!("中主机详情 {id} 必须提供账号和密码"),
        Rule::HostDetailMissing(id) => format!("必须包含主机详情 {id}"),
        Rule::ExpireNotAfterEffective => "必须晚于 auth_effective_time".into(),
        Rule::ExpireInPast => "必须是将来的时间".into(),
        Rule::WindowTooLong { max_hours } => format!("使授权时长超过上限 {max_hours} 小时"),
        Rule::StartTooLate { max_hours } => format!("必须在当前时间起 {max_hours} 小时以内"),
        Rule::OutsideSession => "必须在会话期间内（不晚于当前时间）".into(),
        Rule::HostRequired => "在主机类详情（type 1）中为必填项".into(),
        Rule::InvalidHost => "必须是 IP 地址或 DNS 主机名".into(),
        Rule::TargetNotAllowed => "不在本服务允许连接的网络中".into(),
        Rule::NotAHost => "必须是主机类详情（type 1），而不是控制台".into(),
        Rule::InvalidPublicKey => {
            "必须是一行 OpenSSH 公钥：ssh-ed25519、ecdsa-sha2-nistp256/384/521 或不少于 3072 位的 ssh-rsa"
                .into()
        }
        Rule::UnknownId => "不是已知的 id".into(),
    }
}

/// A string of `min..=max` characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(ValidationError::new(field, Rule::Length { min, max }));
    }
    Ok(())
}

/// An optional string: when present it must be `min..=max` characters.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| text(field, v, min, max))
}

/// A reject reason, or a cancel or recall remark, checked here once for every way in
/// (the API, the console): absent, or 1 to 300 characters.
pub fn remark(field: &str, value: Option<String>) -> Result<Option<String>, ValidationError> {
    optional_text(field, value.as_deref(), 1, 300)?;
    Ok(value)
}

/// A required string.
pub fn required_text<'a>(
    field: &str,
    value: Option<&'a str>,
    min: usize,
    max: usize,
) -> Result<&'a str, ValidationError> {
    let v = value.ok_or_else(|| ValidationError::new(field, Rule::Required))?;
    text(field, v, min, max)?;
    Ok(v)
}

pub fn int_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, ValidationError> {
    if value < min || value > max {
        return Err(ValidationError::new(field, Rule::Range { min, max }));
    }
    Ok(value)
}

/// Parses a decimal integer (as found in a query string or header) and checks its range.
pub fn parse_int(field: &str, raw: &str, min: i64, max: i64) -> Result<i64, ValidationError> {
    let value: i64 = raw
        .trim()
        .parse()
        .map_err(|_| ValidationError::new(field, Rule::NotInteger))?;
    int_range(field, value, min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("f", &"密".repeat(300), 1, 300).is_ok());
        assert!(text("f", &"密".repeat(301), 1, 300).is_err());
        assert_eq!(
            text("f", "", 1, 300).unwrap_err().rule,
            Rule::Length { min: 1, max: 300 }
        );
    }

    #[test]
    fn parse_int_names_field_and_rule() {
        let err = parse_int("limit", "101", 1, 100).unwrap_err();
        assert_eq!(err.field, "limit");
        assert!(
            err.message(Language::En)
                .contains("limit must be an integer from 1 to 100")
        );
        assert_eq!(
            parse_int("limit", "x", 1, 100).unwrap_err().rule,
            Rule::NotInteger
        );
        assert_eq!(parse_int("limit", "100", 1, 100), Ok(100));
    }

    #[test]
    fn messages_exist_in_both_languages() {
        let err = ValidationError::new("reject_reason", Rule::Length { min: 1, max: 300 });
        assert!(err.message(Language::Zh).contains("reject_reason"));
        assert!(err.message(Language::Zh).starts_with("参数校验失败"));
    }
}
