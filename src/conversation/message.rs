//! The question sentences of a long message.
//!
//! A message to customs is often greeting, background, two or three questions and thanks
//! (「您好！我司是一家…企业，…。请问…？另外…需要哪些材料？谢谢！」). Searched as one text, the
//! background outweighs the questions. [`questions`] splits the message into sentences and keeps
//! those that ask something, in order; greetings, thanks and statements are set aside.

/// Messages at least this long (characters) are read sentence by sentence.
pub const LONG_MESSAGE_CHARS: usize = 40;

/// At most this many question sentences are answered from one message.
pub const MAX_QUESTIONS: usize = 3;

/// Marks of a question in a sentence.
const CUES: &[&str] = &[
    "吗",
    "呢",
    "？",
    "?",
    "怎么",
    "怎样",
    "如何",
    "是否",
    "能否",
    "可否",
    "多少",
    "多久",
    "多长",
    "哪",
    "什么",
    "几",
    "要不要",
    "需不需要",
    "有没有",
    "是不是",
    "可不可以",
    "能不能",
    "请问",
    "咨询",
    "请教",
    "想问",
    "想了解",
];

/// Sentences that only greet or thank (compared after removing punctuation).
const COURTESY: &[&str] = &[
    "您好",
    "你好",
    "老师好",
    "谢谢",
    "非常感谢",
    "感谢",
    "谢谢您",
    "辛苦了",
    "麻烦了",
    "多谢",
    "盼复",
    "期待回复",
    "谢谢解答",
    "感谢解答",
    "万分感谢",
];

/// The sentences of a message that ask something, in order, at most [`MAX_QUESTIONS`]; the question
/// mark is kept where the sentence had one. Empty for a short message or one without a question.
pub fn questions(text: &str) -> Vec<String> {
    if text.chars().count() < LONG_MESSAGE_CHARS {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let end = matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';' | '\n');
        if !end {
            continue;
        }
        consider(&text[start..i + c.len_utf8()], &mut out);
        start = i + c.len_utf8();
    }
    consider(&text[start..], &mut out);
    out.truncate(MAX_QUESTIONS);
    out
}

/// Whether a sentence ends as a question does: with a question mark, or 吗 or 呢 as its last
/// letter (a statement with 几 in it — 每天出几百个包裹 — does not).
pub fn ends_as_a_question(sentence: &str) -> bool {
    let s = sentence.trim_end();
    s.ends_with(['？', '?']) || crate::text::letters(s).ends_with(['吗', '呢'])
}

fn consider(sentence: &str, out: &mut Vec<String>) {
    let s = sentence.trim();
    let core = crate::text::letters(s);
    if core.chars().count() < 3
        || COURTESY
            .iter()
            .any(|c| core == *c || core.trim_start_matches(c).is_empty())
    {
        return;
    }
    let core_no_courtesy = COURTESY.iter().fold(core.clone(), |acc, c| acc.replace(c, ""));
    if core_no_courtesy.chars().count() < 3 {
        return;
    }
    if CUES.iter().any(|c| s.contains(c)) {
        out.push(s.trim_end_matches(['。', '；', ';', '\n']).trim().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_board_message_gives_its_questions_in_order() {
        let m = "您好！我们是西宁一家做羊绒加工的企业，今年开始做进料加工。请问加工贸易手册怎么设立？需要哪些材料？另外单耗怎么申报。谢谢！";
        assert_eq!(
            questions(m),
            vec!["请问加工贸易手册怎么设立？", "需要哪些材料？", "另外单耗怎么申报"]
        );
    }

    #[test]
    fn greetings_thanks_and_background_are_set_aside() {
        let m = "老师您好。我公司主要从德国进口机械设备，已经做了好几年了。非常感谢！";
        assert!(questions(m).is_empty());
        assert!(questions("报关单怎么改？").is_empty(), "a short message is not split");
    }

    #[test]
    fn a_sentence_ends_as_a_question_with_its_mark_or_a_final_particle() {
        assert!(ends_as_a_question("直接内销的话要补交哪些税？"));
        assert!(ends_as_a_question("小孩子也算一个人的额度吗"));
        assert!(ends_as_a_question("那出口呢。"));
        assert!(!ends_as_a_question("每天出几百个包裹，目前都走邮政小包。"));
        assert!(!ends_as_a_question("现就以下问题请教："));
    }

    #[test]
    fn at_most_three_questions_are_kept() {
        let m =
            "您好，我们是西宁一家做羊绒加工的企业。请问加工贸易手册怎么设立？设立要多久？设立收费吗？在哪里办理？谢谢";
        assert_eq!(questions(m).len(), MAX_QUESTIONS);
    }
}
