//! The catalogue of resource, visit and content types an engineer may request.
//!
//! Huawei publishes no list; these ids follow its one published example
//! (`resource_type_id` "2" = cloud account, `visit_type_id` "4" = console login).

use super::locale::Language;

pub struct CatalogEntry {
    pub id: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

pub const RESOURCE_TYPES: &[CatalogEntry] = &[
    CatalogEntry {
        id: "1",
        en: "Server",
        zh: "服务器",
    },
    CatalogEntry {
        id: "2",
        en: "Cloud account",
        zh: "云账号",
    },
    CatalogEntry {
        id: "3",
        en: "Database",
        zh: "数据库",
    },
    CatalogEntry {
        id: "4",
        en: "Container cluster",
        zh: "容器集群",
    },
];

pub const VISIT_TYPES: &[CatalogEntry] = &[
    CatalogEntry {
        id: "1",
        en: "SSH",
        zh: "SSH协议",
    },
    CatalogEntry {
        id: "2",
        en: "RDP",
        zh: "RDP协议",
    },
    CatalogEntry {
        id: "3",
        en: "VNC",
        zh: "VNC协议",
    },
    CatalogEntry {
        id: "4",
        en: "Console login",
        zh: "控制台登录",
    },
];

pub const CONTENT_TYPES: &[CatalogEntry] = &[
    CatalogEntry {
        id: "1",
        en: "Password",
        zh: "密码",
    },
    CatalogEntry {
        id: "2",
        en: "Key",
        zh: "密钥",
    },
    CatalogEntry {
        id: "3",
        en: "Authentication credential",
        zh: "认证凭证",
    },
    CatalogEntry {
        id: "4",
        en: "Agency",
        zh: "委托",
    },
];

pub fn lookup(table: &'static [CatalogEntry], id: &str) -> Option<&'static CatalogEntry> {
    table.iter().find(|e| e.id == id)
}

/// The localised name of `id`, or `""` for an id no longer in the catalogue.
pub fn name(table: &'static [CatalogEntry], id: &str, lang: Language) -> &'static str {
    lookup(table, id).map_or("", |e| lang.pick(e.en, e.zh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_localised() {
        assert_eq!(name(VISIT_TYPES, "4", Language::Zh), "控制台登录");
        assert_eq!(name(VISIT_TYPES, "4", Language::En), "Console login");
        assert_eq!(name(CONTENT_TYPES, "9", Language::En), "");
    }

    #[test]
    fn ids_are_unique() {
        for table in [RESOURCE_TYPES, VISIT_TYPES, CONTENT_TYPES] {
            for (i, e) in table.iter().enumerate() {
                assert!(table[i + 1..].iter().all(|o| o.id != e.id));
            }
        }
    }
}
