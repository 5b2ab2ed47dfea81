//! A turn in a conversation: the question read with what came before it.
//!
//! [`Assistant::converse`] is what every front with a conversation calls (through the desk), and
//! `ask --json` with chat ids: a reply to offered choices picks that choice; a follow-up about an
//! aspect (那要多久) is answered from the topic's entry, with the section for that aspect first; an
//! ellipsis (那出口呢) re-asks the previous question with the new object; a vague turn with no topic
//! is asked back, never answered; a long message is answered question by question. Anything else is
//! asked on its own, so context never hijacks a real change of topic.

use crate::answer::Decision;
use crate::conversation::{self, Aspect, Conversation, Offer, Shape, message};
use crate::knowledge::Entry;
use crate::reply::{Body, EntryRef, HandoffReason, Reply};
use crate::text;

use super::{Assistant, handoff, today};

/// One turn: the reply, and the conversation as it stands after it.
#[derive(Debug, Clone)]
pub struct Turn {
    pub reply: Reply,
    pub conversation: Conversation,
}

impl Turn {
    /// The entry the turn was resolved against (its answer, or the follow-up's topic).
    pub fn topic(&self) -> Option<&str> {
        match &self.reply.body {
            Body::Answer(e) | Body::FollowUp { entry: e, .. } => Some(e.id.as_str()),
            Body::Parts(parts) => parts.iter().find_map(|p| p.entry.as_ref()).map(|e| e.id.as_str()),
            _ => None,
        }
    }
}

/// How much longer than one question a message may be before it is not read at all.
const LONG_MESSAGE_FACTOR: usize = 6;

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
        self.sentence(before, text)
    }

    /// One sentence read in the conversation's context.
    fn sentence(&self, before: &Conversation, text: &str) -> Turn {
        let normalized = text::normalize(text.trim());
        if let Some(i) = conversation::choice(&normalized, &before.offered)
            && let Some(reply) = self.answer_entry(&before.offered[i].id)
        {
            let mut turn = after(before, reply);
            turn.conversation.last_question = before.last_question.clone();
            return turn;
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
            Body::Redirect { .. } | Body::Handoff(HandoffReason::Asked | HandoffReason::TooLong) => {
                return after(before, alone);
            }
            _ => {}
        }
        let topic = before
            .topic
            .as_deref()
            .and_then(|id| self.index().find(id).cloned())
            .filter(|e| e.is_current(today()));
        match conversation::shape(&normalized) {
            Shape::Aspect(aspect) => {
                return match topic {
                    Some(entry) => {
                        let mut turn = after(before, follow_up(text, entry, aspect));
                        turn.conversation.last_question = before.last_question.clone();
                        turn
                    }
                    // 那要多久 as the first message: which matter? Ask back, never guess.
                    None => after(before, handoff(text.trim(), HandoffReason::Vague, Vec::new(), 0.0)),
                };
            }
            Shape::Ellipsis(object) => {
                if let Some(previous) = before.last_question.as_deref()
                    && let Some((question, reply)) = self.reask(previous, &object)
                {
                    let mut turn = after(
                        before,
                        Reply {
                            question: text.trim().to_string(),
                            ..reply
                        },
                    );
                    turn.conversation.last_question = Some(question);
                    return turn;
                }
            }
            Shape::Own => {}
        }
        after(before, alone)
    }

    /// The previous question asked again with `object` in place of one of its words (进口报关要什么单证
    /// + 出口 → 出口报关要什么单证): the variant answered with the most confidence, if any is answered.
    fn reask(&self, previous: &str, object: &str) -> Option<(String, Reply)> {
        let index = self.index();
        let query = index.analyzer().query(previous);
        let normalized = text::normalize(previous);
        let mut best: Option<(String, Reply)> = None;
        for group in &query.groups {
            if group.word == object || !normalized.contains(group.word.as_str()) {
                continue;
            }
            let variant = normalized.replacen(group.word.as_str(), object, 1);
            let reply = self.ask(&variant);
            if reply.decision == Decision::Answer && best.as_ref().is_none_or(|(_, b)| reply.confidence > b.confidence)
            {
                best = Some((variant, reply));
            }
        }
        best
    }

    /// A long message: each question sentence in turn, with the message's own topic as context
    /// (「…手册怎么设立？需要哪些材料？」: the second is about the first). Distinct answers become
    /// parts; a part only a person can answer is referred, with the rest still answered.
    fn long_message(&self, before: &Conversation, text: &str, questions: &[String]) -> Turn {
        let mut conv = before.clone();
        let mut parts: Vec<Reply> = Vec::new();
        for q in questions {
            let turn = self.sentence(&conv, q);
            conv = turn.conversation.clone();
            parts.push(turn.reply);
        }
        let answered = |r: &Reply| matches!(r.body, Body::Answer(_) | Body::FollowUp { .. });
        let mut kept: Vec<Reply> = Vec::new();
        for p in parts.iter().filter(|p| answered(p)) {
            let id = p.entry.as_ref().map(|e| e.id.as_str());
            if !kept.iter().any(|k| k.entry.as_ref().map(|e| e.id.as_str()) == id) {
                kept.push(p.clone());
            }
        }
        let referred = parts
            .iter()
            .find(|p| matches!(p.body, Body::Handoff(HandoffReason::Specific(_))))
            .cloned();
        if kept.is_empty() {
            // Nothing answered sentence by sentence: the whole message, as before, unless a part
            // is one only a person can answer, or a sentence was worth offering choices for.
            let whole = self.sentence(before, text);
            if answered(&whole.reply) || matches!(whole.reply.body, Body::Handoff(HandoffReason::Specific(_))) {
                return whole;
            }
            if let Some(r) = referred {
                return after(
                    before,
                    Reply {
                        question: text.trim().to_string(),
                        ..r
                    },
                );
            }
            if let Some(c) = parts.into_iter().find(|p| p.decision == Decision::Clarify) {
                return after(
                    before,
                    Reply {
                        question: text.trim().to_string(),
                        ..c
                    },
                );
            }
            return whole;
        }
        // A general answer to a question about one's own case: the referral goes with it.
        if let Some(r) = referred {
            kept.push(r);
        }
        if kept.len() == 1 {
            let only = kept.remove(0);
            let mut turn = after(
                before,
                Reply {
                    question: text.trim().to_string(),
                    ..only
                },
            );
            if turn.reply.decision == Decision::Answer {
                turn.conversation.last_question = Some(questions[0].clone());
            }
            return turn;
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
        let mut turn = after(before, reply);
        turn.conversation.last_question = Some(questions[0].clone());
        turn
    }
}

/// The answer to a follow-up about `aspect` of `entry`: its section for that aspect when it has one.
fn follow_up(question: &str, entry: Entry, aspect: Aspect) -> Reply {
    let section = entry.section(aspect.headings());
    Reply {
        question: question.trim().to_string(),
        decision: Decision::Answer,
        entry: Some(EntryRef {
            id: entry.id.clone(),
            kind: entry.kind,
            title: entry.title.clone(),
        }),
        candidates: vec![crate::reply::Candidate {
            id: entry.id.clone(),
            title: entry.title.clone(),
            score: 1.0,
        }],
        confidence: 1.0,
        body: Body::FollowUp {
            entry: Box::new(entry),
            aspect,
            section,
        },
    }
}

/// The conversation after a reply: an answer sets the topic, choices are remembered until the next
/// turn, a hand-off ends the topic (a follow-up to it would be about something else).
fn after(before: &Conversation, reply: Reply) -> Turn {
    let mut conversation = before.clone();
    conversation.offered.clear();
    match &reply.body {
        Body::Answer(e) | Body::FollowUp { entry: e, .. } => {
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
