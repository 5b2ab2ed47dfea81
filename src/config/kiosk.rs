//! `[kiosk]`: the hall's touchscreen. Its home tiles are a mapping from entry kinds (and, to narrow
//! a tile, id prefixes) that staff can change here; the "most asked" row's size and period; the
//! address phones use to open a ticket page from the kiosk's QR code.

use serde::Deserialize;

use super::validate::in_range;
use crate::knowledge::Kind;

/// `[kiosk]` as typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskConfig {
    /// The home screen's tiles, in order.
    pub tiles: Vec<Tile>,
    /// Entries in the "most asked this week" row (0 hides it).
    pub popular: usize,
    /// The period the row counts, in days.
    pub popular_days: u32,
    /// The address phones open ticket pages at (`https://…`, no path after the host is needed).
    /// Without it, the address the kiosk's browser used for the page that shows the QR code.
    pub public_url: Option<String>,
}

/// One home tile: the entries of `kinds` whose id starts with one of `id_prefixes` (any id when
/// none is given). An entry may show under several tiles.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tile {
    /// In the tile's address (`/kiosk/c/<key>`): lowercase letters, digits and `-`.
    pub key: String,
    /// What the visitor reads.
    pub title: String,
    pub kinds: Vec<Kind>,
    #[serde(default)]
    pub id_prefixes: Vec<String>,
}

impl Tile {
    /// Whether an entry of `kind` with `id` belongs under this tile.
    pub fn holds(&self, kind: Kind, id: &str) -> bool {
        self.kinds.contains(&kind)
            && (self.id_prefixes.is_empty() || self.id_prefixes.iter().any(|p| id.starts_with(p.as_str())))
    }
}

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            tiles: default_tiles(),
            popular: 6,
            popular_days: 7,
            public_url: None,
        }
    }
}

/// The shipped tiles, following the id prefixes of the shipped knowledge base (`docs/knowledge-plan/`).
fn default_tiles() -> Vec<Tile> {
    let tile = |key: &str, title: &str, kinds: &[Kind], prefixes: &[&str]| Tile {
        key: key.into(),
        title: title.into(),
        kinds: kinds.to_vec(),
        id_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
    };
    use Kind::*;
    let all = &[Procedure, Policy, Permit, Service, Faq];
    vec![
        tile(
            "clearance",
            "通关手续",
            &[Procedure, Policy],
            &["proc-", "manifest-", "origin-", "class-", "quar-", "stats-"],
        ),
        tile("enterprise", "企业备案与加工贸易", all, &["reg-", "ptrade-"]),
        tile("permits", "行政许可", &[Permit], &[]),
        tile(
            "fees",
            "税费与时限",
            all,
            &[
                "pol-fees",
                "pol-time-limits",
                "exempt-",
                "faq-tariff",
                "faq-customs-value",
                "faq-late-fee",
                "faq-post-release-tax",
                "faq-penalty-payment",
            ],
        ),
        tile("personal", "个人物品与邮递", all, &["trav-", "post-"]),
        tile("services", "服务渠道", &[Service], &[]),
        tile("rights", "权利与救济", &[Policy], &["rights-", "pol-"]),
        tile("faq", "常见问题", &[Faq], &[]),
    ]
}

impl KioskConfig {
    /// The tile with this key.
    pub fn tile(&self, key: &str) -> Option<&Tile> {
        self.tiles.iter().find(|t| t.key == key)
    }

    pub(super) fn validate(&mut self) -> Result<(), String> {
        in_range("kiosk", "popular", self.popular, 0.0, 12.0)?;
        in_range("kiosk", "popular_days", self.popular_days, 1.0, 366.0)?;
        if self.tiles.is_empty() || self.tiles.len() > 12 {
            return Err(format!(
                "[kiosk] has {} tiles: give from 1 to 12 [[kiosk.tiles]] (or none at all for the default ones)",
                self.tiles.len()
            ));
        }
        let id_like = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        for (i, t) in self.tiles.iter().enumerate() {
            let at = format!("[[kiosk.tiles]] number {} (key = {:?})", i + 1, t.key);
            if !id_like(&t.key) {
                return Err(format!(
                    "{at}: the key must be 1 to 32 lowercase letters, digits or '-' (it is part of the tile's address)"
                ));
            }
            if self.tiles[..i].iter().any(|o| o.key == t.key) {
                return Err(format!("{at}: another tile has the same key"));
            }
            let chars = t.title.trim().chars().count();
            if chars == 0 || chars > 12 {
                return Err(format!("{at}: the title must be 1 to 12 characters (it fills a tile)"));
            }
            if t.kinds.is_empty() {
                return Err(format!(
                    "{at}: name at least one kind (service, policy, procedure, permit, faq)"
                ));
            }
            if let Some(p) = t.id_prefixes.iter().find(|p| !id_like(p)) {
                return Err(format!(
                    "{at}: id prefix {p:?} can never match an entry id (lowercase letters, digits, '-')"
                ));
            }
        }
        if let Some(url) = &mut self.public_url {
            let trimmed = url.trim().trim_end_matches('/').to_string();
            let host = trimmed
                .strip_prefix("https://")
                .or_else(|| trimmed.strip_prefix("http://"));
            let ok = host.is_some_and(|h| {
                !h.is_empty()
                    && h.len() <= 200
                    && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]/_~".contains(&b))
            });
            if !ok {
                return Err(format!(
                    "[kiosk] public_url = {url:?}: give the address phones reach this server at, such as \"https://zixun.example.gov.cn\" (no query or fragment)"
                ));
            }
            *url = trimmed;
        }
        Ok(())
    }
}
