//! A turn in a conversation: the question read with what came before it.
//!
//! [`Assistant::converse`] is what every front with a conversation calls (through the desk), and
//! `ask --json` with chat ids: a reply to offered choices picks that choice; a follow-up about an
//! aspect (那要多久) is answered from the topic's entry, with the section for that aspect first; an
//! ellipsis (那出口呢) re-asks the previous question with the new object; a vague turn with no topic
//! is asked back, never answered; a short turn is read alone and with the previous question; a long
//! message is answered question by question. A question clearly about something else is answered
//! on its own, so context does not hijack a real change of topic.

use crate::answer::{self, Decision};
use crate::conversation::{self, Aspect, Conversation, Offer, Shape, message};
use crate::knowledge::Entry;
use crate::reply::{Body, HandoffReason, Reply};
use crate::text;

use super::{Assistant, handoff, today};

/// How a sentence is read: a turn of its own, or one question of a long message (whose answers
/// must fit the message read whole, so a short one is not also read with the previous sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Turn,
    InMessage,
}

/// One turn: the reply, and the conversation as it stands after it.
#[derive(Debug, Clone)]
pub struct Turn {
    pub reply: Reply,
    pub conversation: Conversation,
}

impl Turn {
    /// The turn with `question` kept as the one that led to its topic (an ellipsis re-asks it).
    fn led_by(mut self, question: Option<String>) -> Turn {
        self.conversation.last_question = question;
        self
    }

    /// The entry the turn was resolved against (its answer, or the follow-up's topic).
    pub fn topic(&self) -> Option<&str> {
        match &self.reply.body {
            Body::Answer(e) | Body::FollowUp { entry: e, .. } | Body::Superseded { entry: e, .. } => {
                Some(e.id.as_str())
            }
            Body::Parts(parts) => parts.iter().find_map(|p| p.entry.as_ref()).map(|e| e.id.as_str()),
            _ => None,
        }
    }
}

/// A short turn answered alone with at least this confidence is a question of its own, whatever
/// the topic was.
const SELF_CONTAINED: f32 = 0.8;

/// A short turn answered alone with at least this confidence about a neighbour of the topic (see
/// [`neighbour`]) is about that neighbour.
const NEIGHBOUR: f32 = 0.8;

/// A turn names a neighbour only with at least this many characters of its own besides aspects
/// and filler (会保密吗 names nothing: 保密 is what the topic's answer is asked about).
const NEIGHBOUR_WORDS: usize = 4;

/// How many of the in-context reading's best entries are the topic's neighbours.
const NEIGHBOURS: usize = 3;

/// The least confidence the reading in context must have in a neighbouring entry (`neighbour`).
/// Chosen on the dev dialogues: from 0.6 three turns answered with another entry are asked back
/// instead, and no follow-up answered right is lost; 0.7 loses one.
const NEIGHBOUR_IN_CONTEXT: f32 = 0.6;

/// How sure the reading of a short turn alone must be for it to move to an entry related to the
/// topic (its best entry, even below the answer threshold: the topic's links make it likely).
const RELATED: f32 = 0.4;

/// The least confidence with which a turn's own reading must find an offered choice to be taken as
/// describing it (`described_choice`) …
const DESCRIBED_CHOICE: f32 = 0.3;

/// … while no other offered choice scores more than this share of its score.
const CHOICE_LEAD: f32 = 0.8;

/// A sentence's answer counts in a long message only when it is among this many of the whole
/// message's best entries.
const FITTING: usize = 2;

/// A long message answered with one entry below this confidence …
const LONG_SURE: f32 = 0.5;

/// … while the next entry scores at least this share of its score is offered as a choice instead.
const LONG_TIE: f32 = 0.8;

/// How much longer than one question a message may be before it is not read at all.
const LONG_MESSAGE_FACTOR: usize = 6;

/// From this many characters a message is read whole and sentence by sentence at once: below it,
/// handing the whole reading to another thread costs more than the reading itself.
const AT_ONCE_CHARS: usize = 100;

impl Assistant {
    /// Answers one turn of a conversation (see the module documentation). Never fails.
    pub fn converse(&self, before: &Conversation, text: &str) -> Turn {
        let limit = self.config().answer.max_question_chars * LONG_MESSAGE_FACTOR;
        if text.chars().count() > limit {
            return after(before, handoff(text.trim(), HandoffReason::TooLong, Vec::new(), 0.0));
        }
        let questions = message::questions(text);
        if questions.len() > 1 || (questions.len() == 1 && text.chars().count() > questions[0].chars().count() + 10) {
            return self.long_message(before, text, &questions);
        }
        self.sentence(before, text, Reading::Turn)
    }

    /// One sentence read in the conversation's context.
    fn sentence(&self, before: &Conversation, text: &str, reading: Reading) -> Turn {
        let normalized = text::normalize(text.trim());
        // 不是这个: the last answer was about the wrong matter. Forget it and ask for the question in
        // full words (never re-read the same words against the same topic).
        if reading == Reading::Turn && conversation::rejects(&normalized) {
            return after(before, handoff(text.trim(), HandoffReason::Vague, Vec::new(), 0.0));
        }
        // The chosen matter's title is what the person now asks about: the words that led to the
        // choices (备案, 原产地证) were too vague to read a follow-up with.
        if let Some(i) = conversation::choice(&normalized, &before.offered)
            && let Some(reply) = self.answer_entry(&before.offered[i].id)
        {
            return after(before, reply).led_by(Some(before.offered[i].title.clone()));
        }
        // A choice's number with no choices offered (3, after an answer) points at nothing: never
        // read it with the previous question (it would find the topic again).
        if conversation::only_a_number(&normalized) {
            return after(before, handoff(text.trim(), HandoffReason::Vague, Vec::new(), 0.0));
        }
        let alone = self.ask(text);
        match &alone.body {
            // Small talk keeps the topic (好的谢谢 → 那要多久 is still about it).
            Body::Smalltalk(_) => {
                return Turn {
                    reply: alone,
                    conversation: before.clone(),
                };
            }
            // Another authority, a request for a person, one's own case or one specific fact: never
            // re-read in context as a question about the topic.
            Body::Redirect { .. }
            | Body::Handoff(HandoffReason::Asked | HandoffReason::TooLong | HandoffReason::Specific(_)) => {
                return after(before, alone);
            }
            _ => {}
        }
        // A choice described in other words (批文还没下来的那种情况 after the choices offered for 担保):
        // read alone, it finds one offered choice first, clearly ahead of the others.
        if let Some(i) = described_choice(&alone, &before.offered)
            && let Some(reply) = self.answer_entry(&before.offered[i].id)
        {
            return after(before, asked(text, reply)).led_by(Some(before.offered[i].title.clone()));
        }
        // With no topic, a short turn that names no matter (谁来改, 需要什么证, 能寄吗 — after a
        // hand-off, or as a first message) is as vague as 那要多久: its few common words find some
        // entry, but which matter is meant? Ask back, never answer it with an entry.
        if before.topic.is_none()
            && alone.decision == Decision::Answer
            && normalized.chars().count() <= conversation::FOLLOW_UP_CHARS
            && !self.index().analyzer().names_a_matter(text)
        {
            return after(before, handoff(text.trim(), HandoffReason::Vague, Vec::new(), 0.0));
        }
        // 另外…, 对了…: the person says this is another question; its own reading answers it.
        if reading == Reading::Turn
            && alone.decision == Decision::Answer
            && conversation::announces_a_new_question(&normalized)
        {
            return after(before, alone);
        }
        let topic = before
            .topic
            .as_deref()
            .and_then(|id| self.index().find(id).cloned())
            .filter(|e| e.is_current(today()));
        let mut shape = conversation::shape(&normalized);
        if shape == Shape::Own && topic.is_some() {
            shape = self.bare_noun(&normalized).map_or(shape, Shape::Ellipsis);
        }
        // A turn naming something new (利息呢, 那我们自己公司的呢) whose own words find an entry the
        // topic's entry lists as related: the person moved to that neighbouring matter.
        if !matches!(shape, Shape::Aspect(_) | Shape::AspectOf(..))
            && let Some(entry) = topic.as_ref()
            && let Some(reply) = self.related_reading(entry, &alone, &normalized)
        {
            return after(before, asked(text, reply));
        }
        match shape {
            Shape::Aspect(aspect) => {
                return match topic {
                    Some(entry) => after(before, follow_up(text, entry, aspect)).led_by(before.last_question.clone()),
                    // 那要多久 as the first message: which matter? Ask back, never guess.
                    None => after(before, handoff(text.trim(), HandoffReason::Vague, Vec::new(), 0.0)),
                };
            }
            Shape::AspectOf(aspect, rest) => {
                // About the topic, unless the words name another matter: read alone they answer
                // another entry with confidence, and either the reading with the previous question
                // agrees or those words are in the other entry's title and name nothing of the topic's (滞报金怎么算 →
                // 转关怎么办理 is a new matter; 保税仓库 → 多长时间能批下来 is not). When they name the topic itself
                // (转关怎么办理 again), the whole entry is the answer.
                if let Some(entry) = topic.clone() {
                    if alone.decision == Decision::Answer && alone.entry.as_ref().is_some_and(|e| e.id == entry.id) {
                        return after(before, alone);
                    }
                    // An aspect the topic's entry has no section for, asked with words that find an
                    // entry the topic lists as related (超了呢 会罚钱吗 after the declaration deadline
                    // → the late-declaration fee; 一般多久解禁 after outbreak bans → their lifting):
                    // that neighbour holds the answer. A bare aspect (期限多久) names nothing to
                    // move with, and stays on the topic.
                    if entry.section(aspect.headings()).is_none()
                        && let Some(reply) = self.related_best(&entry, &alone)
                    {
                        return after(before, asked(text, reply));
                    }
                    let elsewhere = alone.decision == Decision::Answer
                        && alone.confidence >= SELF_CONTAINED
                        && !undecided(&alone)
                        && {
                            let previous = before.last_question.as_deref().unwrap_or_default();
                            let in_context = self.in_context(previous, text);
                            in_context.entry.as_ref().map(|e| &e.id) == alone.entry.as_ref().map(|e| &e.id)
                                || (rest.chars().count() >= 2
                                    && !names(&entry, &rest)
                                    && !text::normalize(&entry.body).contains(rest.trim())
                                    && alone
                                        .entry
                                        .as_ref()
                                        .and_then(|e| self.index().find(&e.id).cloned())
                                        .is_some_and(|other| text::normalize(&other.title).contains(rest.trim())))
                        };
                    if !elsewhere {
                        return after(before, follow_up(text, entry, aspect)).led_by(before.last_question.clone());
                    }
                    return after(before, alone);
                }
                // 那我在哪能查到 with no topic: a follow-up to nothing, whose few words fit several
                // entries equally. Which is meant? Offer them, never guess. Whether a thing can be
                // changed is asked of the thing named (报关单能撤销吗): a question of its own.
                if alone.decision == Decision::Answer && undecided(&alone) && aspect != Aspect::Change {
                    return after(before, self.offer_best(text, &alone));
                }
            }
            Shape::Ellipsis(object) => {
                if let Some(previous) = before.last_question.as_deref()
                    && let Some((question, reply)) = self.reask(previous, &object, before.topic.as_deref())
                {
                    return after(before, asked(text, reply)).led_by(Some(question));
                }
            }
            // 食品那个 after an overview, 交税那个 when no offered choice is about 交税: the previous
            // question narrowed by those words; read alone they would answer any entry about 食品.
            Shape::Refine(object) => {
                if let Some(turn) = self.refine(before, text, &object, &alone, topic.as_ref()) {
                    return turn;
                }
            }
            Shape::Own => {}
        }
        if let (Reading::Turn, Some(entry), Some(previous)) = (reading, &topic, before.last_question.as_deref())
            && normalized.chars().count() <= conversation::FOLLOW_UP_CHARS
        {
            return self.short_turn(before, text, &normalized, alone, entry, previous);
        }
        after(before, alone)
    }

    /// The entry related to `topic` (its `related` list) that a short turn, read `alone`, is about:
    /// the best entry of that reading, found with some confidence while the topic is not among its
    /// best. None when the turn names nothing of its own or its words also point at the topic.
    fn related_reading(&self, topic: &Entry, alone: &Reply, normalized: &str) -> Option<Reply> {
        if normalized.chars().count() > conversation::FOLLOW_UP_CHARS
            || conversation::content(normalized).chars().count() < 2
        {
            return None;
        }
        self.related_best(topic, alone)
    }

    /// The answer with the best entry of a turn read `alone` when the topic lists it as related and
    /// the reading is sure enough of it (`RELATED`, below the answer threshold: the topic's link
    /// makes it likely), while the topic is not among the reading's best (the words then point at
    /// the topic as well). None otherwise.
    fn related_best(&self, topic: &Entry, alone: &Reply) -> Option<Reply> {
        if alone.confidence < RELATED {
            return None;
        }
        let best = alone.candidates.first()?;
        let related = best.id != topic.id && topic.related.contains(&best.id);
        let points_at_topic = alone.candidates.iter().take(NEIGHBOURS).any(|c| c.id == topic.id);
        if !related || points_at_topic {
            return None;
        }
        self.answer_entry(&best.id)
    }

    /// The noun a turn consists of (外币 after a question on carrying RMB cash): said after an
    /// answer, it is an ellipsis without its 呢 — the previous question asked of it.
    fn bare_noun(&self, normalized: &str) -> Option<String> {
        // A longer turn is never read as a follow-up (`conversation::shape`); no need to segment it.
        let letters = text::letters(normalized);
        if letters.chars().count() > conversation::FOLLOW_UP_CHARS {
            return None;
        }
        let query = self.index().analyzer().query(normalized);
        match query.groups.as_slice() {
            [g] if g.weight >= 1.0
                && g.word.chars().count() >= 2
                && letters.trim_end_matches(['呢', '吗']) == g.word =>
            {
                Some(g.word.clone())
            }
            _ => None,
        }
    }

    /// 「X那个」: the part about X of what was just said. Words that describe an offered choice
    /// (减免税还没批下来那种) pick it, and words that describe the topic itself keep it. Otherwise
    /// the previous question narrowed by X is read, and its best entry about X — other than the
    /// topic, which X is a part of — is the answer: among its best entries, the one X's words
    /// alone rank first, else the first whose title or keywords name X (烟酒那个 after an overview
    /// of personal articles → the tobacco and alcohol limits, not the parcel rates that also list
    /// 烟酒). When none is, the person chooses among what the narrowed reading found. None when
    /// there is nothing to narrow.
    fn refine(
        &self,
        before: &Conversation,
        text: &str,
        object: &str,
        alone: &Reply,
        topic: Option<&Entry>,
    ) -> Option<Turn> {
        let answered_alone = alone.entry.as_ref().filter(|_| alone.decision == Decision::Answer);
        let picks_an_offer = answered_alone.is_some_and(|e| before.offered.iter().any(|o| o.id == e.id));
        // Words that, read alone, answer the topic itself describe it (包裹 → 被扣了让补税的那种):
        // it is no overview whose part is meant.
        let describes_the_topic = answered_alone.is_some_and(|e| topic.is_some_and(|t| t.id == e.id));
        if picks_an_offer || describes_the_topic {
            return Some(after(before, alone.clone()).led_by(before.last_question.clone()));
        }
        let previous = before.last_question.as_deref()?;
        let narrowed = self.in_context(previous, object);
        if narrowed.decision == Decision::Handoff {
            return None;
        }
        let question = format!("{previous}，{object}");
        let index = self.index();
        let narrowed_best: Vec<&str> = narrowed
            .candidates
            .iter()
            .take(NEIGHBOURS)
            .map(|c| c.id.as_str())
            .filter(|id| topic.is_none_or(|t| t.id != *id))
            .collect();
        // What X alone finds best among them, else the first whose title or keywords name X.
        let about_it = alone
            .candidates
            .iter()
            .take(NEIGHBOURS)
            .map(|c| c.id.as_str())
            .find(|id| narrowed_best.contains(id))
            .or_else(|| {
                narrowed_best
                    .iter()
                    .copied()
                    .find(|id| index.find(id).is_some_and(|e| names(e, object)))
            })
            .and_then(|id| self.answer_entry(id));
        let reply = match about_it {
            Some(answer) => answer,
            // The narrowed reading found them, but not clearly enough: the person chooses.
            None => self.offer_best(text, &narrowed),
        };
        Some(after(before, asked(text, reply)).led_by(Some(question)))
    }

    /// A short turn in a conversation with a topic that is neither a bare aspect nor an ellipsis
    /// (会保密吗, 被查到会怎样, 老账册怎么办): read alone it may share a word with any entry, so it is
    /// also read with the previous question. A turn clearly about something else on its own (a
    /// confident answer) is a change of topic; one that fits the topic only in context is answered
    /// in context; when the two readings disagree and neither is clear, the person chooses; when
    /// neither finds anything and the turn asks an aspect, it asks that aspect of the topic.
    /// `normalized` is `text` normalised (as `sentence` has it).
    fn short_turn(
        &self,
        before: &Conversation,
        text: &str,
        normalized: &str,
        alone: Reply,
        topic: &Entry,
        previous: &str,
    ) -> Turn {
        let in_context = self.in_context(previous, text);
        let id = |r: &Reply| r.entry.as_ref().map(|e| e.id.clone());
        let answered = |r: &Reply| r.decision == Decision::Answer;
        // A turn that alone answers a neighbouring matter with confidence (进口商需要备案吗 after a
        // question on food labels) is about that matter: read with the previous question it leans on
        // the topic's words. A neighbour is an entry the in-context reading also finds.
        // 「X也一样吗」, 「X也可以吗」 ask whether the topic's rule holds for X too: still the topic.
        let content = conversation::content(normalized);
        let own_words = content.chars().count() >= NEIGHBOUR_WORDS && !normalized.contains('也');
        if own_words && neighbour(&alone, &in_context, topic, &content) {
            return after(before, alone);
        }
        // With the previous question the turn is about the topic (举报… → 会保密吗): stay on it —
        // unless the turn asks no aspect of it and its own words, read alone, do not find the topic
        // among their best entries (个人从国外带奶粉入境可以吗 after a question on importing milk
        // powder): the topic then comes only from the previous question's words; the person chooses.
        if answered(&in_context) && id(&in_context).as_deref() == Some(topic.id.as_str()) {
            let asks_an_aspect = conversation::aspect(normalized).is_some();
            let elsewhere =
                own_words && !asks_an_aspect && !alone.candidates.iter().take(NEIGHBOURS).any(|c| c.id == topic.id);
            if !elsewhere || alone.candidates.is_empty() {
                return after(before, asked(text, in_context)).led_by(Some(previous.to_string()));
            }
            return after(before, two_readings(text, topic, &alone));
        }
        // A turn with too few words of its own to be a question by itself (可以跨关区吗 after a
        // question on carrying over leftover materials) finds, alone, the entry those words name
        // (transit between customs districts); with the previous question it still finds the
        // topic first, though not surely. Is it asked of the topic or about that entry? The
        // person chooses.
        if !own_words
            && answered(&alone)
            && id(&alone) != id(&in_context)
            && in_context.candidates.first().is_some_and(|c| c.id == topic.id)
        {
            return after(before, two_readings(text, topic, &alone));
        }
        if answered(&alone)
            && ((alone.confidence >= SELF_CONTAINED && !undecided(&alone)) || id(&alone) == id(&in_context))
        {
            return after(before, alone);
        }
        if answered(&in_context) {
            return after(before, asked(text, in_context)).led_by(Some(previous.to_string()));
        }
        if answered(&alone) && !alone.candidates.is_empty() {
            return after(before, two_readings(text, topic, &alone));
        }
        // Neither reading finds anything, but the turn asks an aspect (出货后多久内还能补): it is about
        // the topic, answered from its section with the assumption said — not handed off.
        if alone.decision == Decision::Handoff
            && let Some(aspect) = conversation::aspect(normalized)
        {
            return after(before, follow_up(text, topic.clone(), aspect)).led_by(Some(previous.to_string()));
        }
        after(before, alone)
    }

    /// A turn read together with the question before it.
    fn in_context(&self, previous: &str, text: &str) -> Reply {
        self.ask(&format!("{previous}，{}", text.trim()))
    }

    /// The previous question asked again with `object` in place of one of its words (进口报关要什么单证
    /// with 出口 becomes 出口报关要什么单证), or the object alone: the most confident answer about
    /// another matter than the topic, else the topic's own; None when no variant is answered. A place
    /// stands for the place the previous question names, before anything else is tried.
    fn reask(&self, previous: &str, object: &str, topic: Option<&str>) -> Option<(String, Reply)> {
        let index = self.index();
        let query = index.analyzer().query(previous);
        let normalized = text::normalize(previous);
        // A place for a place (日本呢 after a question on GSP certificates for the EU): the previous
        // question asked of the other place, whatever the place alone would find (Japanese seafood).
        let place = object.trim_end_matches('的');
        if answer::is_place(place)
            && let Some(there) = answer::place_in(&normalized).filter(|p| *p != place)
        {
            let variant = normalized.replacen(there, place, 1);
            let reply = self.ask(&variant);
            if reply.decision == Decision::Answer {
                return Some((variant, reply));
            }
        }
        // Each word of the previous question, or a part of one (进口 in 进口报关), replaced by the
        // object; and the object alone (市内免税店呢 may name its matter by itself).
        let mut variants: Vec<String> = Vec::new();
        // The variants that replace a word naming the topic (个人邮包 of 个人邮包的限值 → 跨境电商): the
        // object is usually said in place of the matter's own name, not of 一次 or 多少.
        let mut naming: Vec<String> = Vec::new();
        let topic_entry = topic.and_then(|id| index.find(id));
        for group in &query.groups {
            for (word, form) in group.forms() {
                if form == text::Form::Synonym || word == object || !normalized.contains(word) {
                    continue;
                }
                // A part stands for the object only beside a word of its own (进口 of 进口报关 →
                // 出口报关); 滞报 of 滞报金 would leave 出口金, which names nothing.
                if form == text::Form::Part && group.word.replacen(word, "", 1).chars().count() < 2 {
                    continue;
                }
                let variant = normalized.replacen(word, object, 1);
                if word.chars().count() >= 2
                    && topic_entry.is_some_and(|e| names(e, word))
                    && !naming.contains(&variant)
                {
                    naming.push(variant.clone());
                }
                if !variants.contains(&variant) {
                    variants.push(variant);
                }
            }
        }
        // A new object usually means a new matter: an answer other than the topic comes first, from
        // a replaced word naming the topic, then any replaced word, then the object alone; the topic
        // itself only when nothing else answers.
        let answered: Vec<(String, Reply)> = variants
            .into_iter()
            .chain(std::iter::once(object.to_string()))
            .map(|v| {
                let reply = self.ask(&v);
                (v, reply)
            })
            .filter(|(_, r)| r.decision == Decision::Answer)
            .collect();
        let elsewhere = |r: &Reply| r.entry.as_ref().map(|e| e.id.as_str()) != topic;
        let best = |pick: &dyn Fn(&(String, Reply)) -> bool| {
            answered
                .iter()
                .filter(|x| pick(x))
                .max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence))
                .cloned()
        };
        best(&|(v, r)| naming.contains(v) && elsewhere(r))
            .or_else(|| best(&|(v, r)| v != object && elsewhere(r)))
            .or_else(|| best(&|(v, r)| v == object && elsewhere(r)))
            .or_else(|| best(&|_| true))
    }

    /// A long message: each question sentence in turn, with the message's own topic as context
    /// (「…手册怎么设立？需要哪些材料？」: the second is about the first). Distinct answers become
    /// parts; a part only a person can answer is referred, with the rest still answered.
    fn long_message(&self, before: &Conversation, text: &str, questions: &[String]) -> Turn {
        // The message read whole (below) and its sentences read in turn are independent, so they
        // run at once (rayon's pool: on another core when one is free, else one after the other).
        // The whole message is the costliest search (a hundred words), so a long message takes
        // about the time of the larger of the two instead of their sum.
        let sentences = || {
            let mut conv = before.clone();
            let mut parts: Vec<Reply> = Vec::new();
            for q in questions {
                let turn = self.sentence(&conv, q, Reading::InMessage);
                conv = turn.conversation.clone();
                parts.push(turn.reply);
            }
            parts
        };
        let (parts, whole) = if text.chars().count() >= AT_ONCE_CHARS {
            rayon::join(sentences, || self.ask(text))
        } else {
            (sentences(), self.ask(text))
        };
        let answered = |r: &Reply| {
            matches!(
                r.body,
                Body::Answer(_) | Body::FollowUp { .. } | Body::Superseded { .. }
            )
        };
        // The message read whole comes first when it is answered: its background often names the
        // matter better than any one sentence (「我司出口一票货…舱单…录错了。请问应该怎么修改？」).
        let mut kept: Vec<Reply> = Vec::new();
        if whole.decision == Decision::Answer {
            kept.push(whole.clone());
        }
        // A sentence's answer must fit the message: an entry the whole message also points to
        // (「需要提交什么材料？」 alone could be about anything).
        let fits = |p: &Reply| {
            whole.candidates.is_empty()
                || p.entry
                    .as_ref()
                    .is_some_and(|e| whole.candidates.iter().take(FITTING).any(|c| c.id == e.id))
        };
        for p in parts.iter().filter(|p| answered(p) && fits(p)) {
            let id = p.entry.as_ref().map(|e| e.id.as_str());
            if !kept.iter().any(|k| k.entry.as_ref().map(|e| e.id.as_str()) == id) {
                kept.push(p.clone());
            }
        }
        // The part only a person can answer: a sentence that asks it, or — read as a whole — a
        // message about the sender's own case (我的包裹…单号…, 我司被罚…) whose questions alone do
        // not show it.
        let referred = parts
            .iter()
            .find(|p| matches!(p.body, Body::Handoff(HandoffReason::Specific(_))))
            .cloned()
            .or_else(|| {
                let kind = answer::specific_request(&text::normalize(text))?;
                let background = kept
                    .first()
                    .map(|k| k.candidates.iter().take(1).cloned().collect())
                    .unwrap_or_default();
                Some(handoff(text.trim(), HandoffReason::Specific(kind), background, 0.0))
            });
        if kept.is_empty() {
            // Nothing answered sentence by sentence: the whole message, as before, unless a part
            // is one only a person can answer, or a sentence was worth offering choices for.
            if matches!(whole.body, Body::Handoff(HandoffReason::Specific(_))) {
                return after(before, whole);
            }
            if let Some(r) = referred {
                return after(before, asked(text, r));
            }
            if let Some(c) = parts.into_iter().find(|p| p.decision == Decision::Clarify) {
                return after(before, asked(text, c));
            }
            return after(before, whole);
        }
        // A general answer to a question about one's own case: the referral goes with it;
        // otherwise a question nothing answered goes to a person (`unanswered`).
        if let Some(r) = referred {
            kept.push(r);
        } else {
            let open = self.unanswered(&parts, &kept);
            if kept.len() > 1 {
                kept.extend(open);
            } else {
                let only = self.between_close_matters(text, kept.remove(0));
                match open {
                    Some(open) if only.decision == Decision::Answer => kept = vec![only, open],
                    _ => {
                        let mut turn = after(before, asked(text, only));
                        if turn.reply.decision == Decision::Answer {
                            turn.conversation.last_question = Some(questions[0].clone());
                        }
                        return turn;
                    }
                }
            }
        }
        let main = kept[0].clone();
        let reply = Reply {
            question: text.trim().to_string(),
            decision: main.decision,
            entry: main.entry.clone(),
            candidates: main.candidates.clone(),
            confidence: main.confidence,
            body: Body::Parts(kept),
        };
        after(before, reply).led_by(Some(questions[0].clone()))
    }

    /// The hand-off for a question of a long message that nothing answered, so that it is not
    /// silently dropped: it goes to a person, and the reply says which question that is
    /// (「另外如果不转，直接内销的话要补交哪些税？」 beside the answer on carrying leftover materials
    /// over to a new manual). Such a question is a sentence (`parts`, read in turn) that ends as a
    /// question (not 现就以下问题请教：), names a matter, and found entries but none surely — none of
    /// its best being an answer `kept` (我需要做什么 names nothing: the answer kept says what to do),
    /// and it asks no aspect an answer kept has a section for (由哪个海关审批，多长时间能办结 beside
    /// the entry with its 办理渠道 and 办理时限). None when there is no such question.
    fn unanswered(&self, parts: &[Reply], kept: &[Reply]) -> Option<Reply> {
        let index = self.index();
        let answers: Vec<&Entry> = kept
            .iter()
            .filter_map(|k| k.entry.as_ref().and_then(|e| index.find(&e.id)))
            .collect();
        parts
            .iter()
            .find(|p| {
                matches!(p.body, Body::Handoff(HandoffReason::NotSure))
                    && message::ends_as_a_question(&p.question)
                    && index.analyzer().names_a_matter(&p.question)
                    && !p.candidates.is_empty()
                    && !p
                        .candidates
                        .iter()
                        .take(NEIGHBOURS)
                        .any(|c| answers.iter().any(|e| e.id == c.id))
                    && conversation::aspect(&text::normalize(&p.question))
                        .is_none_or(|aspect| !answers.iter().any(|e| e.section(aspect.headings()).is_some()))
            })
            .map(|p| handoff(&p.question, HandoffReason::NotSure, Vec::new(), p.confidence))
    }

    /// A long message (of several sentences) answered with one entry without much confidence, while
    /// another is nearly as good: such a message names many things, so the person chooses rather
    /// than gets the wrong one. (A single long sentence is not: on the dev questions it cost three
    /// right answers and removed no wrong one.)
    fn between_close_matters(&self, text: &str, reply: Reply) -> Reply {
        match reply.candidates.as_slice() {
            [first, second, ..]
                if reply.decision == Decision::Answer
                    && reply.confidence < LONG_SURE
                    && second.score >= LONG_TIE * first.score =>
            {
                self.offer_best(text, &reply)
            }
            _ => reply,
        }
    }

    /// The best entries a reading found (as many as `[answer] max_choices`) offered as the reply to
    /// `text`: the person chooses among them.
    fn offer_best(&self, text: &str, reading: &Reply) -> Reply {
        let best = reading
            .candidates
            .iter()
            .take(self.config().answer.max_choices)
            .cloned();
        offer(text, best.collect(), reading.confidence)
    }
}

/// Which offered choice a turn describes in its own words: the best entry of its reading `alone`,
/// when that is one of the `offered` choices, found with some confidence and clearly ahead of
/// every other offered choice the reading found. None when the reading answers another entry
/// with confidence (a new question), or finds an offered choice only behind other entries.
fn described_choice(alone: &Reply, offered: &[Offer]) -> Option<usize> {
    let best = alone.candidates.first()?;
    let chosen = offered.iter().position(|o| o.id == best.id)?;
    let new_question = alone.decision == Decision::Answer && alone.entry.as_ref().is_some_and(|e| e.id != best.id);
    let runner_up = alone
        .candidates
        .iter()
        .skip(1)
        .filter(|c| offered.iter().any(|o| o.id == c.id))
        .map(|c| c.score)
        .fold(0.0, f32::max);
    (!new_question && best.score >= DESCRIBED_CHOICE && runner_up <= CHOICE_LEAD * best.score).then_some(chosen)
}

/// Two readings of a turn: the topic, or the best entry its words alone found. The person chooses.
fn two_readings(text: &str, topic: &Entry, alone: &Reply) -> Reply {
    let mut choices = vec![crate::reply::Candidate {
        id: topic.id.clone(),
        title: topic.title.clone(),
        score: 1.0,
    }];
    choices.extend(alone.candidates.iter().find(|c| c.id != topic.id).cloned());
    offer(text, choices, alone.confidence)
}

/// `choices` offered to the person as the reply to `text`.
fn offer(text: &str, choices: Vec<crate::reply::Candidate>, confidence: f32) -> Reply {
    Reply {
        question: text.trim().to_string(),
        decision: Decision::Clarify,
        entry: None,
        candidates: choices.clone(),
        confidence,
        body: Body::Clarify(choices),
    }
}

/// Whether `alone` (a turn read alone) answers, with confidence, another entry than `topic` that
/// the reading in context also finds among its best: the turn asks about a neighbouring matter.
/// The reading in context must find it likely too, unless the entry's title and what the turn
/// names (`content`) hold one another (滞报金 and 滞报金算 of 滞报金怎么算: a matter named, however
/// the previous question leans). An entry the reading in context finds only far behind the topic,
/// for words its title does not say — 逾期不报会怎样 after a question on the exempt-goods usage
/// report finds the tax payment deadline third, at a third of the topic's confidence — is no
/// neighbour: the turn is about the topic.
fn neighbour(alone: &Reply, in_context: &Reply, topic: &Entry, content: &str) -> bool {
    let named = |e: &crate::reply::EntryRef| {
        let title = text::normalize(&e.title);
        content.chars().count() >= 2 && (title.contains(content) || content.contains(title.as_str()))
    };
    alone.decision == Decision::Answer
        && alone.confidence >= NEIGHBOUR
        && !undecided(alone)
        && alone.entry.as_ref().is_some_and(|e| {
            e.id != topic.id
                && in_context
                    .candidates
                    .iter()
                    .take(NEIGHBOURS)
                    .any(|c| c.id == e.id && (c.score >= NEIGHBOUR_IN_CONTEXT || named(e)))
        })
}

/// Whether the best entry of a reading is no better than the next by the reading's own measure
/// (超过多少要申报: each of several entries holds every word): the words do not tell them apart,
/// and what ranks one first is only how often it repeats them. Such a reading is never sure
/// enough to leave the topic for, nor to answer a follow-up to nothing with.
fn undecided(reading: &Reply) -> bool {
    match reading.candidates.as_slice() {
        [first, second, ..] => second.score >= first.score - 1e-3,
        _ => false,
    }
}

/// Whether `entry`'s title or keywords name `words` (the words of a follow-up
/// besides its aspect), or a keyword of the entry is among them.
fn names(entry: &Entry, words: &str) -> bool {
    let words = words.trim();
    !words.is_empty()
        && (text::normalize(&entry.title).contains(words)
            || entry
                .keywords
                .iter()
                .any(|k| !k.is_empty() && (k.contains(words) || words.contains(k.as_str()))))
}

/// The answer to a follow-up about `aspect` of `entry`: its section for that aspect when it has one.
fn follow_up(question: &str, entry: Entry, aspect: Aspect) -> Reply {
    let section = entry.section(aspect.headings());
    Reply {
        question: question.trim().to_string(),
        body: Body::FollowUp {
            entry: Box::new(entry.clone()),
            aspect,
            section,
        },
        ..Reply::whole_entry(entry)
    }
}

/// `reply` as the answer to `text` (a reading of it made with other words).
fn asked(text: &str, reply: Reply) -> Reply {
    Reply {
        question: text.trim().to_string(),
        ..reply
    }
}

/// The conversation after a reply: an answer sets the topic, choices are remembered until the next
/// turn, a hand-off ends the topic (a follow-up to it would be about something else).
fn after(before: &Conversation, reply: Reply) -> Turn {
    let mut conversation = before.clone();
    conversation.offered.clear();
    match &reply.body {
        Body::Answer(e) | Body::FollowUp { entry: e, .. } | Body::Superseded { entry: e, .. } => {
            conversation.topic = Some(e.id.clone());
            conversation.last_question = Some(reply.question.clone());
        }
        Body::Parts(parts) => {
            conversation.topic = parts.iter().find_map(|p| p.entry.as_ref()).map(|e| e.id.clone());
        }
        Body::Clarify(choices) => {
            conversation.offered = choices
                .iter()
                .map(|c| Offer {
                    id: c.id.clone(),
                    title: c.title.clone(),
                })
                .collect();
            conversation.last_question = Some(reply.question.clone());
        }
        Body::Handoff(_) | Body::Redirect { .. } => {
            conversation.topic = None;
            conversation.last_question = None;
        }
        Body::Smalltalk(_) => {}
    }
    Turn { reply, conversation }
}
