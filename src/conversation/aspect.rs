//! The facets of a matter a follow-up asks about, and the entry sections that hold them.
//!
//! The section headings are the entry format's (`knowledge::entry::SECTIONS`, documented in
//! `docs/knowledge-format.md`); an aspect's label is its group's canonical heading.

/// One facet of a matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    Conditions,
    Materials,
    TimeLimit,
    Fees,
    Channel,
    Validity,
    Penalty,
    LegalBasis,
    Process,
    Change,
}

impl Aspect {
    pub const ALL: [Aspect; 10] = [
        Aspect::Conditions,
        Aspect::Materials,
        Aspect::TimeLimit,
        Aspect::Fees,
        Aspect::Channel,
        Aspect::Validity,
        Aspect::Penalty,
        Aspect::LegalBasis,
        Aspect::Process,
        Aspect::Change,
    ];

    /// How the aspect is named in a reply: 「关于【…】的办理时限」.
    pub fn label(self) -> &'static str {
        match self {
            Aspect::Conditions => "办理条件",
            Aspect::Materials => "所需材料",
            Aspect::TimeLimit => "办理时限",
            Aspect::Fees => "收费",
            Aspect::Channel => "办理渠道",
            Aspect::Validity => "有效期",
            Aspect::Penalty => "法律责任",
            Aspect::LegalBasis => "法律依据",
            Aspect::Process => "办理流程",
            Aspect::Change => "变更和撤销",
        }
    }

    /// The section headings (bold paragraph labels) that hold this aspect, the canonical one first:
    /// the entry format's group whose canonical heading is [`label`](Self::label).
    pub fn headings(self) -> &'static [&'static str] {
        crate::knowledge::entry::section_headings(self.label())
    }

    /// Words that ask about the aspect.
    pub(super) fn cues(self) -> &'static [&'static str] {
        match self {
            Aspect::Conditions => &[
                "什么条件",
                "哪些条件",
                "条件",
                "资格",
                "谁能办",
                "谁可以",
                "谁能",
                "哪些人",
                "什么人",
                "多大年纪",
                "年龄",
            ],
            Aspect::Materials => &[
                "什么材料",
                "哪些材料",
                "材料",
                "资料",
                "单证",
                "单据",
                "什么手续",
                "带什么",
                "准备什么",
                "交什么",
                "什么证明",
                "哪些证明",
                "什么证件",
            ],
            Aspect::TimeLimit => &[
                "多长时间",
                "多久",
                "几天",
                "多少天",
                "几个工作日",
                "工作日",
                "时限",
                "期限",
                "什么时候",
                "多快",
                "提前多久",
                "提前几天",
            ],
            Aspect::Fees => &["收费", "收钱", "要钱", "花钱", "费用", "多少钱", "免费", "交钱"],
            Aspect::Channel => &[
                "网上",
                "线上",
                "在哪",
                "哪里",
                "去哪",
                "哪儿",
                "地点",
                "窗口",
                "单一窗口",
            ],
            Aspect::Validity => &["有效期", "多久有效", "管多久", "续期", "延续", "续展", "到期"],
            Aspect::Penalty => &[
                "罚",
                "处罚",
                "罚款",
                "后果",
                "不办会怎样",
                "会怎样",
                "会怎么样",
                "怎么处理",
            ],
            Aspect::LegalBasis => &[
                "依据",
                "法律依据",
                "哪条规定",
                "哪个规定",
                "根据什么",
                "哪个文件",
                "哪条",
                "哪一条",
                "什么规定",
            ],
            Aspect::Process => &["流程", "步骤", "怎么办理", "怎么申请", "程序", "怎么操作", "怎么弄"],
            Aspect::Change => &[
                "能改不",
                "能改",
                "改吗",
                "改不",
                "怎么改",
                "修改",
                "更改",
                "变更",
                "更正",
                "撤销",
                "撤回",
            ],
        }
    }
}

/// The aspect a turn asks about: the one whose longest cue it contains (None when none).
pub fn aspect(text: &str) -> Option<Aspect> {
    let text = colloquial(text);
    let mut best: Option<(usize, Aspect)> = None;
    for a in Aspect::ALL {
        for cue in a.cues() {
            if text.contains(cue) && best.is_none_or(|(len, _)| cue.len() > len) {
                best = Some((cue.len(), a));
            }
        }
    }
    best.map(|(_, a)| a)
}

/// The colloquial 啥 and 咋 written as 什么 and 怎么, so one set of cues reads both.
pub(super) fn colloquial(text: &str) -> String {
    text.replace('啥', "什么").replace('咋', "怎么")
}
