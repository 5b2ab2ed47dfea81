//! A conversation, not a line: what the person asked before, and how a new turn relates to it.
//!
//! People write follow-ups in chat (那要多久, 要什么材料, 出口呢, 第二个). On their own those turns
//! name no matter, and a search would answer them with whatever entry shares a word. The state kept
//! per conversation ([`Conversation`]: the topic, the question that led to it, the choices last
//! offered) is stored by the desk behind the store interface; this module only reads a turn:
//! - [`aspect`]: which facet of a matter a turn asks about (time limit, materials, fees …);
//! - [`shape`]: whether the turn is a follow-up about an aspect, an ellipsis with a new object, or
//!   a question of its own;
//! - [`choice`]: which offered choice a reply in words means (第二个, 2, 知识产权那个, the title);
//! - [`message`]: the question sentences of a long message.
//!
//! Pure functions over text and plain data: no index, no store. `app::Assistant::converse` puts
//! them together with the search.

mod aspect;
pub mod message;

use crate::text;
use serde::{Deserialize, Serialize};

pub use aspect::{Aspect, aspect};

/// What is remembered of one conversation between turns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The entry last answered or chosen: what a follow-up is about.
    #[serde(default)]
    pub topic: Option<String>,
    /// The question that led to the topic (an ellipsis 那出口呢 re-asks it with the new object).
    #[serde(default)]
    pub last_question: Option<String>,
    /// The choices last offered, in order.
    #[serde(default)]
    pub offered: Vec<Offer>,
}

/// One choice offered to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: String,
    pub title: String,
}

impl Conversation {
    pub fn is_empty(&self) -> bool {
        self.topic.is_none() && self.offered.is_empty()
    }
}

/// How a turn relates to the conversation, read from its words alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Only an aspect and filler (那要多久, 需要什么材料, 收费吗): about the topic, if there is one.
    Aspect(Aspect),
    /// An aspect and a few more characters (被查到会怎样, 转关怎么办理): about the topic unless the
    /// words name a matter of their own — which only the search can tell.
    AspectOf(Aspect, String),
    /// A new object and the marks of an ellipsis (那出口呢, 肉干呢): the previous question, with it.
    Ellipsis(String),
    /// Words pointing back at one part of what was just said (食品那个, 交税的那项): the previous
    /// question narrowed by them. Never a question of its own: 那个 refers to something shown.
    Refine(String),
    /// Anything else: a question of its own.
    Own,
}

/// Words that carry a follow-up but name nothing (removed before looking for an object).
const FILLER: &[&str] = &[
    "请问",
    "那么",
    "那个",
    "这个",
    "那",
    "这",
    "它",
    "还有",
    "另外",
    "再问",
    "问一下",
    "一下",
    "的话",
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "呀",
    "吧",
    "么",
    "是",
    "要",
    "需要",
    "得",
    "能",
    "可以",
    "可不可以",
    "能不能",
    "会",
    "还",
    "也",
    "都",
    "怎么",
    "怎样",
    "如何",
    "什么",
    "哪些",
    "有",
    "没有",
    "我",
    "我们",
    "就",
    "又",
    "该",
    "办理",
    "办",
    "申请",
    "提供",
    "准备",
    "提交",
    "交",
    "带",
    "一般",
    "大概",
    "大约",
    "最长",
    "最快",
    "具体",
    "现在",
    "一共",
    // Whom a follow-up is told to or asked of: always customs, never the matter (要提前多久跟海关说).
    "跟海关说",
    "告诉海关",
    "通知海关",
];

/// How a turn ends when it points back at one part of what was just said (食品那个).
const REFERRING: &[&str] = &["那个", "那一个", "那项", "那一项", "那条", "那种", "那块"];

/// Turns longer than this are never read as a follow-up: a long turn says what it is about.
pub const FOLLOW_UP_CHARS: usize = 16;

/// An aspect follow-up may carry this many characters besides the aspect and filler.
const ASPECT_REST_CHARS: usize = 3;

/// How a turn relates to the conversation (see [`Shape`]). `normalized` is `text::normalize`d.
pub fn shape(normalized: &str) -> Shape {
    let core = plain(normalized);
    if core.is_empty() || core.chars().count() > FOLLOW_UP_CHARS {
        return Shape::Own;
    }
    let found = aspect(&core);
    let rest = content(&core);
    // An aspect with at most a few more characters (被查到会怎样, 没交会怎样, 申请了多久能出) is still
    // about the topic; a longer rest names a matter of its own.
    if let Some(a) = found {
        if rest.is_empty() {
            return Shape::Aspect(a);
        }
        if rest.chars().count() <= ASPECT_REST_CHARS {
            return Shape::AspectOf(a, rest);
        }
    }
    if rest.is_empty() {
        return Shape::Own;
    }
    // 「X那个」 points back at the part of the last answer or choices that is about X.
    if found.is_none()
        && rest.chars().count() <= 8
        && let Some(words) = REFERRING.iter().find_map(|r| core.strip_suffix(r))
    {
        return Shape::Refine(words.trim_end_matches('的').to_string());
    }
    // An ellipsis names a new object and nothing else, marked by 那… or …呢 (出口呢, 那肉干呢).
    let marked = core.ends_with('呢') || core.starts_with('那') || core.starts_with("还有");
    if marked && found.is_none() && rest.chars().count() <= 8 {
        return Shape::Ellipsis(rest);
    }
    Shape::Own
}

/// A turn's letters and digits, with the colloquial 啥 and 咋 written as 什么 and 怎么 (舱单啥时候传
/// asks a time limit as 什么时候 does).
fn plain(normalized: &str) -> String {
    let core = text::letters(normalized);
    aspect::colloquial(&core)
}

/// What a turn names besides aspects and filler (进口商需要备案吗 → 进口商备案; 会保密吗 → 保密).
/// `normalized` is `text::normalize`d.
pub fn content(normalized: &str) -> String {
    let core = plain(normalized);
    // Every aspect's cues go (longest first): 有效期多久 asks about validity with a time word.
    let mut cues: Vec<&str> = Aspect::ALL.iter().flat_map(|a| a.cues().iter().copied()).collect();
    cues.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let mut rest = core;
    for cue in cues {
        rest = rest.replace(cue, "");
    }
    strip_filler(&rest)
}

/// The text without follow-up filler words, longest first.
fn strip_filler(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while !rest.is_empty() {
        let mut best: Option<&str> = None;
        for f in FILLER {
            if rest.starts_with(f) && best.is_none_or(|b| f.len() > b.len()) {
                best = Some(f);
            }
        }
        if let Some(f) = best {
            rest = &rest[f.len()..];
            continue 'outer;
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// What people write when the answer was about the wrong matter (不是这个, 你理解错了), as the
/// whole turn (with filler and particles around it).
const REJECTIONS: &[&str] = &[
    "我问的不是这个",
    "我说的不是这个",
    "不是我要问的",
    "不是我问的",
    "不是这个意思",
    "不是这个问题",
    "不是这一项",
    "不是这一个",
    "不是这个",
    "不是这项",
    "不是这",
    "你理解错了",
    "理解错了",
    "答非所问",
    "搞错了",
    "弄错了",
    "都不是",
    "都不对",
    "不对",
    "错了",
    "不是",
];

/// How a turn begins when the person says it is another question (另外…, 对了…, 顺便问一下…).
const NEW_QUESTION: &[&str] = &[
    "另外",
    "对了",
    "顺便",
    "还想问",
    "再问个",
    "再问一个",
    "换个问题",
    "另问",
];

/// Whether a turn announces a question of its own: it is then read alone, never with the topic.
/// 还有 is not such a mark (还有出口呢 is an ellipsis). `normalized` is `text::normalize`d.
pub fn announces_a_new_question(normalized: &str) -> bool {
    let core = text::letters(normalized);
    NEW_QUESTION.iter().any(|m| core.starts_with(m))
}

/// Whether a turn says the last answer was about the wrong matter. `normalized` is `text::normalize`d.
pub fn rejects(normalized: &str) -> bool {
    let core = text::letters(normalized);
    let core = core.trim_start_matches(['嗯', '呃', '额', '哎']);
    let core = ["好像", "可是", "但是", "你这"]
        .iter()
        .find_map(|p| core.strip_prefix(p))
        .unwrap_or(core);
    let core = core.trim_end_matches(['啊', '呀', '吧', '哦']);
    REJECTIONS.contains(&core)
}

/// What people write to say yes to the one matter they were asked about (您问的是不是这一项).
const YES: [&str; 12] = [
    "是",
    "是的",
    "对",
    "对的",
    "嗯",
    "嗯嗯",
    "没错",
    "就是",
    "是这个",
    "就是这个",
    "对就是这个",
    "是它",
];

/// Which offered choice a reply in words means: its number (2, 第二个, 第2项, 二), or words of one
/// title only (知识产权那个), or the title itself; yes (是的, 对) to a single choice. None when it
/// names no choice or several.
pub fn choice(normalized: &str, offered: &[Offer]) -> Option<usize> {
    if offered.is_empty() {
        return None;
    }
    let core = text::letters(normalized);
    if core.is_empty() || core.chars().count() > 24 {
        return None;
    }
    if offered.len() == 1 && YES.contains(&core.trim_end_matches(['啊', '呀', '吧', '哦', '呢'])) {
        return Some(0);
    }
    // The number alone, or as a clause of its own after a few words (我们是大学，第三个).
    let clauses = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|c| !c.is_empty());
    if let Some(n) = std::iter::once(core.as_str()).chain(clauses).find_map(ordinal) {
        return (1..=offered.len()).contains(&n).then(|| n - 1);
    }
    // The whole title, or what is left once 那个/这个/的/吧 are gone, found in exactly one title;
    // a turn that asks about an aspect and names nothing else (要交什么材料) is not a choice, while
    // a title with an aspect's word in it (报关单修改和撤销) is one.
    if aspect(&core).is_some() && content(&core).is_empty() {
        return None;
    }
    let words = strip_filler(&core.replace("那一项", "").replace("那项", "").replace("那条", ""));
    if words.chars().count() < 2 {
        return None;
    }
    let normalize_title = |t: &str| text::letters(&text::normalize(t));
    let matching: Vec<usize> = offered
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            let t = normalize_title(&o.title);
            t == core || t.contains(&words)
        })
        .map(|(i, _)| i)
        .collect();
    match matching.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Whether a turn is nothing but a choice's number (2, 第三个, 选二): without the choices it
/// refers to, it asks about nothing (and must never be searched: "2" would match figures).
pub fn only_a_number(normalized: &str) -> bool {
    let core = text::letters(normalized);
    ordinal(&core).is_some_and(|n| (1..=9).contains(&n))
}

/// A choice's number written as 2, 第二个, 第2项, 选二, 二.
fn ordinal(core: &str) -> Option<usize> {
    let mut s = core;
    for p in ["我选", "选择", "选", "第"] {
        if let Some(r) = s.strip_prefix(p) {
            s = r;
        }
    }
    for suffix in ["个吧", "个", "项", "条", "吧"] {
        if let Some(r) = s.strip_suffix(suffix) {
            s = r;
            break;
        }
    }
    if let Ok(n) = s.parse::<usize>() {
        return Some(n);
    }
    const NUMERALS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match s {
        "两" => Some(2),
        _ => NUMERALS.iter().position(|n| *n == s).map(|i| i + 1),
    }
}

#[cfg(test)]
mod tests;
