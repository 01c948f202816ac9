//! The response language: `X-Language`, else `Accept-Language`, else the installation's
//! `default_language`.

use super::validation::{Rule, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Zh,
}

impl Language {
    /// A language tag as Huawei's headers spell it: `zh-cn` (or `zh`, `zh_CN`) is
    /// Chinese, anything else English.
    fn from_tag(tag: &str) -> Language {
        let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
        if lower == "zh" || lower.starts_with("zh-") {
            Language::Zh
        } else {
            Language::En
        }
    }

    /// `X-Language`: 1..32 characters.
    pub fn from_header(value: &str) -> Result<Language, ValidationError> {
        if value.is_empty() || value.chars().count() > 32 {
            return Err(ValidationError::new(
                "X-Language",
                Rule::Length { min: 1, max: 32 },
            ));
        }
        Ok(Language::from_tag(value))
    }

    /// The `default_language` setting: `en-us` or `zh-cn`.
    pub fn from_setting(value: &str) -> Result<Language, String> {
        match value.to_ascii_lowercase().as_str() {
            "en-us" | "en" => Ok(Language::En),
            "zh-cn" | "zh" => Ok(Language::Zh),
            _ => Err(format!("`{value}` is not `en-us` or `zh-cn`")),
        }
    }

    /// The supported language the client ranks highest in `Accept-Language`, if any
    /// (`*` and unsupported languages are skipped; a malformed header counts as absent).
    pub fn from_accept_language(value: &str) -> Option<Language> {
        let mut best: Option<(f32, Language)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let language = match tag.split('-').next() {
                Some("zh") => Language::Zh,
                Some("en") => Language::En,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map(|(_, language)| language)
    }

    /// `X-Language` wins, then `Accept-Language`, then the installation's default.
    pub fn negotiate(
        x_language: Option<&str>,
        accept_language: Option<&str>,
        default: Language,
    ) -> Result<Language, ValidationError> {
        if let Some(value) = x_language {
            return Language::from_header(value);
        }
        Ok(accept_language
            .and_then(Language::from_accept_language)
            .unwrap_or(default))
    }

    /// Picks the string for this language.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Language::En => en,
            Language::Zh => zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_language_picks_chinese_or_falls_back_to_english() {
        assert_eq!(Language::from_header("zh-cn"), Ok(Language::Zh));
        assert_eq!(Language::from_header("zh_CN"), Ok(Language::Zh));
        assert_eq!(Language::from_header("en-us"), Ok(Language::En));
        assert_eq!(Language::from_header("fr-fr"), Ok(Language::En));
        assert!(Language::from_header("").is_err());
        assert!(Language::from_header(&"x".repeat(33)).is_err());
    }

    #[test]
    fn accept_language_takes_the_best_ranked_supported_language() {
        let accept = Language::from_accept_language;
        assert_eq!(accept("zh-CN"), Some(Language::Zh));
        assert_eq!(accept("fr-FR, zh-CN;q=0.8, en;q=0.5"), Some(Language::Zh));
        assert_eq!(accept("zh;q=0.3, en-GB;q=0.9"), Some(Language::En));
        assert_eq!(accept("zh;q=0, en;q=0.1"), Some(Language::En));
        assert_eq!(accept("fr, *;q=0.5"), None);
        assert_eq!(accept(";;,"), None);
    }

    #[test]
    fn x_language_wins_then_accept_language_then_the_default() {
        let n = Language::negotiate;
        assert_eq!(
            n(Some("en-us"), Some("zh-CN"), Language::Zh),
            Ok(Language::En)
        );
        assert_eq!(n(None, Some("zh-CN"), Language::En), Ok(Language::Zh));
        assert_eq!(n(None, Some("fr"), Language::Zh), Ok(Language::Zh));
        assert_eq!(n(None, None, Language::En), Ok(Language::En));
        assert!(n(Some(""), None, Language::En).is_err());
    }
}
