use super::*;

fn offers(titles: &[&str]) -> Vec<Offer> {
    titles
        .iter()
        .enumerate()
        .map(|(i, t)| Offer {
            id: format!("e{i}"),
            title: t.to_string(),
        })
        .collect()
}

#[test]
fn an_aspect_alone_is_a_follow_up() {
    for (turn, a) in [
        ("那要多久", Aspect::TimeLimit),
        ("那需要多长时间", Aspect::TimeLimit),
        ("要带什么材料", Aspect::Materials),
        ("需要什么材料", Aspect::Materials),
        ("收费吗", Aspect::Fees),
        ("网上能办吗", Aspect::Channel),
        ("办理时限是多久", Aspect::TimeLimit),
        ("有效期多久", Aspect::Validity),
        ("依据是什么", Aspect::LegalBasis),
        ("要什么证明", Aspect::Materials),
        ("要啥材料", Aspect::Materials),
        ("要准备哪些单据", Aspect::Materials),
        ("那啥时候呢", Aspect::TimeLimit),
        ("依据是哪条", Aspect::LegalBasis),
        ("要提前多久跟海关说", Aspect::TimeLimit),
        ("具体怎么操作", Aspect::Process),
        ("还能改吗", Aspect::Change),
        ("能撤销吗", Aspect::Change),
        ("怎么改", Aspect::Change),
    ] {
        assert_eq!(shape(turn), Shape::Aspect(a), "{turn}");
    }
}

#[test]
fn who_may_use_a_matter_is_its_conditions() {
    for turn in ["多大年纪才能买", "哪些人可以申请", "年龄有限制吗"] {
        assert_eq!(aspect(turn), Some(Aspect::Conditions), "{turn}");
    }
}

#[test]
fn an_aspect_with_a_few_more_words_may_be_about_the_topic() {
    assert_eq!(shape("被查到会怎样"), Shape::AspectOf(Aspect::Penalty, "被查到".into()));
    assert_eq!(shape("报错了还能改不"), Shape::AspectOf(Aspect::Change, "报错".into()));
    // 会怎么样 and its colloquial 会咋样 ask the same as 会怎样.
    for turn in ["被查到会怎么样", "被查到会咋样"] {
        assert_eq!(shape(turn), Shape::AspectOf(Aspect::Penalty, "被查到".into()), "{turn}");
    }
    assert_eq!(shape("转关怎么办理"), Shape::AspectOf(Aspect::Process, "转关".into()));
    assert_eq!(
        shape("舱单啥时候传"),
        Shape::AspectOf(Aspect::TimeLimit, "舱单传".into())
    );
}

#[test]
fn a_new_object_with_the_marks_of_an_ellipsis_is_one() {
    assert_eq!(shape("那出口呢"), Shape::Ellipsis("出口".into()));
    assert_eq!(shape("出口呢"), Shape::Ellipsis("出口".into()));
    assert_eq!(shape("肉干呢"), Shape::Ellipsis("肉干".into()));
}

#[test]
fn words_pointing_back_at_a_part_narrow_the_previous_question() {
    assert_eq!(shape("食品那个"), Shape::Refine("食品".into()));
    assert_eq!(shape("交税的那项"), Shape::Refine("交税".into()));
    // Nothing named: not a refinement (那个 alone is filler).
    assert_eq!(shape("那个"), Shape::Own);
}

#[test]
fn a_question_of_its_own_is_not_a_follow_up() {
    for turn in [
        "进口报关要什么单证",
        "知识产权海关保护备案怎么办",
        "滞报金怎么算",
        "我们公司从德国进口了一批设备，报关单填错了怎么改",
    ] {
        assert_eq!(shape(turn), Shape::Own, "{turn}");
    }
}

#[test]
fn choices_are_understood_in_words() {
    let o = offers(&["知识产权海关保护备案", "报关单修改和撤销", "滞报金"]);
    assert_eq!(choice("2", &o), Some(1));
    assert_eq!(choice("第二个", &o), Some(1));
    assert_eq!(choice("第3项", &o), Some(2));
    assert_eq!(choice("选一", &o), Some(0));
    assert_eq!(choice("知识产权那个", &o), Some(0));
    assert_eq!(choice("报关单修改和撤销", &o), Some(1));
    assert_eq!(choice("第四个", &o), None, "there is no fourth");
    assert_eq!(choice("是的", &o), None, "yes to three choices names none");
    let one = &o[..1];
    for yes in ["是的", "对", "嗯", "是的呀", "对，就是这个"] {
        assert_eq!(choice(&crate::text::normalize(yes), one), Some(0), "{yes}");
    }
    assert_eq!(choice("不是", one), None);
    assert_eq!(
        choice("我们是大学，第三个", &o),
        Some(2),
        "a number as a clause of its own"
    );
    assert_eq!(
        choice("进口2台设备要什么手续", &o),
        None,
        "a figure inside a question is no choice"
    );
    assert_eq!(choice("原产地证怎么办", &o), None);
    let twins = offers(&["知识产权海关保护备案", "知识产权状况申报"]);
    assert_eq!(choice("知识产权", &twins), None, "words of two titles name neither");
}

#[test]
fn every_aspect_has_a_section_of_the_entry_format_and_every_section_an_aspect() {
    for a in Aspect::ALL {
        assert_eq!(a.headings().first(), Some(&a.label()), "{a:?}");
    }
    assert_eq!(crate::knowledge::entry::SECTIONS.len(), Aspect::ALL.len());
}

#[test]
fn a_rejection_is_the_whole_turn() {
    use super::rejects;
    for t in [
        "不是这个",
        "不是这个意思",
        "我问的不是这个",
        "不对",
        "你理解错了",
        "嗯，不是这个吧",
        "不是",
        "都不是",
    ] {
        assert!(rejects(&crate::text::normalize(t)), "{t}");
    }
    for t in [
        "不是这个报关单",
        "不对外开放的口岸能报关吗",
        "不是企业能备案吗",
        "好的谢谢",
        "错了怎么改",
    ] {
        assert!(!rejects(&crate::text::normalize(t)), "{t}");
    }
}

#[test]
fn a_bare_number_is_only_a_choice() {
    for t in ["2", "第三个", "选二", "第2项"] {
        assert!(only_a_number(&crate::text::normalize(t)), "{t}");
    }
    for t in ["12360", "2号", "二维码", "第三方", "50"] {
        assert!(!only_a_number(&crate::text::normalize(t)), "{t}");
    }
}

#[test]
fn a_turn_may_announce_a_question_of_its_own() {
    for turn in [
        "另外，原产地证书可以自己打印吗",
        "对了 我留学刚回来能买免税车吗",
        "顺便问一下滞报金怎么算",
    ] {
        assert!(announces_a_new_question(turn), "{turn}");
    }
    for turn in ["还有出口呢", "原产地证书可以自己打印吗", "那要多久"] {
        assert!(!announces_a_new_question(turn), "{turn}");
    }
}
