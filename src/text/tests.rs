use super::*;
use std::sync::OnceLock;

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        Analyzer::new(
            "滞报金 2000 n\n预裁定 2000 n\n单一窗口 2000 n\n综保区 2000 n\n# comment\n",
            &[
                vec!["知识产权".into(), "知产".into()],
                vec!["查验".into(), "查货".into()],
                vec!["AEO".into(), "高级认证企业".into()],
            ],
            &["请问".into(), "怎么".into(), "吗".into(), "的".into(), "我们".into()],
            &[(vec!["出口退税".into(), "退税率".into()], "税务部门".into())],
        )
        .unwrap()
    })
}

#[test]
fn normalize_table() {
    let cases = [
        ("ＡＥＯ１２３？", "aeo123?"),
        ("報關單怎麼撤銷", "报关单怎么撤销"),
        ("知識產權海關保護", "知识产权海关保护"),
        ("  两步   申报\t\n", "两步 申报"),
        ("HS编码", "hs编码"),
        ("乾燥劑", "干燥剂"),
        ("報關大廳的諮詢窗口", "报关大厅的咨询窗口"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize(input), expected, "normalize({input:?})");
    }
}

#[test]
fn query_terms_table() {
    let cases: [(&str, &[&str]); 6] = [
        ("请问滞报金怎么算", &["滞报金", "算"]),
        ("報關單怎麼撤銷？", &["报关单", "撤销"]),
        ("预裁定", &["预裁定"]),
        ("🎉🎉🎉", &[]),
        ("请问吗", &[]),
        ("我们的ＡＥＯ认证", &["aeo", "认证"]),
    ];
    for (input, expected) in cases {
        let q = analyzer().query(input);
        let words: Vec<&str> = q.groups.iter().map(|g| g.word.as_str()).collect();
        assert_eq!(words, expected, "query({input:?})");
    }
}

#[test]
fn user_dictionary_keeps_customs_terms_whole() {
    for term in ["滞报金", "预裁定", "单一窗口", "综保区"] {
        let toks = analyzer().query_tokens(term);
        assert_eq!(toks.len(), 1, "{term} split into {toks:?}");
    }
}

#[test]
fn redirects_are_found_in_normalised_text() {
    assert_eq!(
        analyzer().redirect(&normalize("出口退稅怎麼辦")),
        Some(("出口退税", "税务部门"))
    );
    assert_eq!(analyzer().redirect("滞报金怎么算"), None);
}

#[test]
fn a_redirect_term_counts_only_as_whole_words() {
    let redirects = [(vec!["个税".to_string(), "出口退税".to_string()], "税务部门".to_string())];
    let a = Analyzer::new("个税 300 n\n税号 300 n\n", &[], &[], &redirects).unwrap();
    assert_eq!(a.redirect("个税怎么交"), Some(("个税", "税务部门")));
    assert_eq!(a.redirect("我想问个税的问题"), Some(("个税", "税务部门")));
    assert_eq!(a.redirect("产品该归哪个税号"), None);
    assert_eq!(a.redirect("这个税怎么算"), None);
    assert_eq!(a.redirect("出口退税怎么办"), Some(("出口退税", "税务部门")));
}

#[test]
fn synonyms_expand_both_ways() {
    let q = analyzer().query("知产备案");
    assert_eq!(q.groups[0].word, "知产");
    assert_eq!(q.groups[0].synonyms, vec!["知识产权".to_string()]);
    let q = analyzer().query("查验");
    assert_eq!(q.groups[0].synonyms, vec!["查货".to_string()]);
    let q = analyzer().query("aeo");
    assert_eq!(q.groups[0].synonyms, vec!["高级认证企业".to_string()]);
}

#[test]
fn long_words_carry_their_parts() {
    let q = analyzer().query("进境动植物检疫许可证");
    let all: Vec<&str> = q.groups.iter().flat_map(|g| g.forms().map(|(w, _)| w)).collect();
    assert!(all.contains(&"许可证"), "{all:?}");
    assert!(all.contains(&"检疫"), "{all:?}");
}

#[test]
fn index_tokens_drop_punctuation_and_keep_sub_words() {
    let toks = analyzer().index_tokens(&normalize("如何办理报关单修改和撤销？"));
    let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    assert!(words.contains(&"报关"), "{words:?}");
    assert!(words.contains(&"报关单"), "{words:?}");
    assert!(!words.contains(&"？") && !words.contains(&"?"), "{words:?}");
}

#[test]
fn sound_table() {
    assert_eq!(sound("报关").as_deref(), Some("bao guan"));
    assert_eq!(sound("保关"), sound("报关"));
    assert_eq!(sound("两部"), sound("两步"));
    assert_eq!(sound("被案"), sound("备案"));
    // The fuzzy pairs of pinyin input: s / sh, z / zh, c / ch, -in / -ing, -en / -eng.
    assert_eq!(sound("要数"), sound("要素"));
    assert_eq!(sound("资询"), sound("咨询"));
    assert_eq!(sound("新用"), sound("信用"));
    // n and l, -ang and -an stay apart, as do other initials.
    assert_ne!(sound("连检"), sound("年检"));
    assert_ne!(sound("方案"), sound("反案"));
    assert_ne!(sound("报关"), sound("跑关"));
    assert_eq!(sound("关"), None);
    assert_eq!(sound("aeo"), None);
}

#[test]
fn bigrams_table() {
    let cases: [(&str, &[&str]); 4] = [
        ("报关单", &["报关", "关单"]),
        ("海 aeo 认证", &["海", "aeo", "认证"]),
        ("hs编码8471", &["hs", "编码", "8471"]),
        ("!!", &[]),
    ];
    for (input, expected) in cases {
        assert_eq!(bigrams(input), expected, "bigrams({input:?})");
    }
}

#[test]
fn a_word_the_hmm_joined_to_a_function_word_is_its_content_words() {
    let a = Analyzer::new("", &[], &["能".into(), "会".into(), "那".into(), "要".into()], &[]).unwrap();
    let words = |w: &str| a.unmerged(w).map(|g| g.into_iter().map(|g| g.word).collect::<Vec<_>>());
    // 税能减吗: 税能 is no word; 税 is what is asked about.
    assert_eq!(words("税能"), Some(vec!["税".to_string()]));
    assert_eq!(words("会禁"), Some(vec!["禁".to_string()]));
    // Nothing but function words: nothing to search.
    assert_eq!(words("那要"), Some(vec![]));
    // No function word in it: perhaps a name, or a homophone typed by mistake (机查 for 稽查).
    assert_eq!(words("机查"), None);
    // A dictionary word is itself.
    assert_eq!(words("报关"), None);
}

#[test]
fn a_question_names_a_matter_with_a_noun_or_an_uncommon_word() {
    let a = analyzer();
    for named in ["滞报金怎么算", "怎么投诉", "能延期吗", "单一窗口"] {
        assert!(a.names_a_matter(named), "{named}");
    }
    for vague in ["谁来改", "能寄吗", "怎么修改", "不去会怎样"] {
        assert!(!a.names_a_matter(vague), "{vague}");
    }
}
