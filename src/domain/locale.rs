//! The response language chosen by `X-Language`.

use super::validation::{Rule, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    En,
    /// Huawei's documented default.
    #[default]
    Zh,
}

impl Language {
    /// `X-Language`: 1..32 characters; `zh-cn` and `en-us` are supported, anything else
    /// falls back to English.
    pub fn from_header(value: Option<&str>) -> Result<Language, ValidationError> {
        let Some(value) = value else {
            return Ok(Language::default());
        };
        if value.is_empty() || value.chars().count() > 32 {
            return Err(ValidationError::new(
                "X-Language",
                Rule::Length { min: 1, max: 32 },
            ));
        }
        let lower = value.trim().to_ascii_lowercase();
        Ok(if lower == "zh-cn" || lower == "zh" || lower == "zh_cn" {
            Language::Zh
        } else {
            Language::En
        })
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
    fn defaults_to_chinese_and_falls_back_to_english() {
        assert_eq!(Language::from_header(None), Ok(Language::Zh));
        assert_eq!(Language::from_header(Some("zh-cn")), Ok(Language::Zh));
        assert_eq!(Language::from_header(Some("en-us")), Ok(Language::En));
        assert_eq!(Language::from_header(Some("fr-fr")), Ok(Language::En));
        assert!(Language::from_header(Some("")).is_err());
        assert!(Language::from_header(Some(&"x".repeat(33))).is_err());
    }
}
