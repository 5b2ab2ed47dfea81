//! What is recognised before anything is searched: small talk, a request for a person, a question
//! about another country's customs, and a question only a person can answer (one's own case, a
//! calculation, one product's code or rate). Pure functions over the normalised text.

/// A message that is not a question for the knowledge base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smalltalk {
    Greeting,
    Thanks,
    Goodbye,
    /// Who or what the assistant is.
    Identity,
    /// Everyday chit-chat that is not about customs (the date, the weather, a poem or a joke).
    OffTopic,
    /// Nothing but whitespace, punctuation or emoji.
    NoText,
}

const HUMAN: [&str; 8] = [
    "转人工",
    "人工客服",
    "人工服务",
    "找人工",
    "要人工",
    "真人客服",
    "人工坐席",
    "找客服",
];

/// Fragments a small-talk message is made of, by what they say. A message counts as small talk
/// when it consists of nothing else ("你好", "好的，谢谢", "收到，感谢您的解答", "你是真人还是机器人").
const FRAGMENTS: &[(&str, Option<Smalltalk>)] = &[
    ("你好", Some(Smalltalk::Greeting)),
    ("您好", Some(Smalltalk::Greeting)),
    ("你们好", Some(Smalltalk::Greeting)),
    ("大家好", Some(Smalltalk::Greeting)),
    ("老师好", Some(Smalltalk::Greeting)),
    ("hello", Some(Smalltalk::Greeting)),
    ("hi", Some(Smalltalk::Greeting)),
    ("hey", Some(Smalltalk::Greeting)),
    ("在吗", Some(Smalltalk::Greeting)),
    ("在不在", Some(Smalltalk::Greeting)),
    ("有人在吗", Some(Smalltalk::Greeting)),
    ("有人吗", Some(Smalltalk::Greeting)),
    ("早上好", Some(Smalltalk::Greeting)),
    ("上午好", Some(Smalltalk::Greeting)),
    ("中午好", Some(Smalltalk::Greeting)),
    ("下午好", Some(Smalltalk::Greeting)),
    ("晚上好", Some(Smalltalk::Greeting)),
    ("早安", Some(Smalltalk::Greeting)),
    ("嗨", Some(Smalltalk::Greeting)),
    ("哈喽", Some(Smalltalk::Greeting)),
    ("非常感谢", Some(Smalltalk::Thanks)),
    ("太感谢了", Some(Smalltalk::Thanks)),
    ("谢谢", Some(Smalltalk::Thanks)),
    ("谢了", Some(Smalltalk::Thanks)),
    ("多谢", Some(Smalltalk::Thanks)),
    ("感谢", Some(Smalltalk::Thanks)),
    ("thankyou", Some(Smalltalk::Thanks)),
    ("thanks", Some(Smalltalk::Thanks)),
    ("thx", Some(Smalltalk::Thanks)),
    ("辛苦了", Some(Smalltalk::Thanks)),
    ("麻烦了", Some(Smalltalk::Thanks)),
    ("再见", Some(Smalltalk::Goodbye)),
    ("拜拜", Some(Smalltalk::Goodbye)),
    ("byebye", Some(Smalltalk::Goodbye)),
    ("bye", Some(Smalltalk::Goodbye)),
    ("好的", Some(Smalltalk::Goodbye)),
    ("知道了", Some(Smalltalk::Goodbye)),
    ("明白了", Some(Smalltalk::Goodbye)),
    ("明白", Some(Smalltalk::Goodbye)),
    ("收到", Some(Smalltalk::Goodbye)),
    ("了解", Some(Smalltalk::Goodbye)),
    ("懂了", Some(Smalltalk::Goodbye)),
    ("没问题", Some(Smalltalk::Goodbye)),
    ("okay", Some(Smalltalk::Goodbye)),
    ("ok", Some(Smalltalk::Goodbye)),
    ("嗯", Some(Smalltalk::Goodbye)),
    ("好", Some(Smalltalk::Goodbye)),
    ("行", Some(Smalltalk::Goodbye)),
    ("哦", Some(Smalltalk::Goodbye)),
    ("噢", Some(Smalltalk::Goodbye)),
    ("这样啊", Some(Smalltalk::Goodbye)),
    ("原来如此", Some(Smalltalk::Goodbye)),
    ("原来是这样", Some(Smalltalk::Goodbye)),
    ("再等等", Some(Smalltalk::Goodbye)),
    ("等等看", Some(Smalltalk::Goodbye)),
    // The person will ask someone else (行吧 我打电话问问): the conversation ends here.
    ("打电话问问", Some(Smalltalk::Goodbye)),
    ("打个电话问问", Some(Smalltalk::Goodbye)),
    ("去问问", Some(Smalltalk::Goodbye)),
    ("问问看", Some(Smalltalk::Goodbye)),
    ("你是谁", Some(Smalltalk::Identity)),
    ("你叫什么名字", Some(Smalltalk::Identity)),
    ("你叫什么", Some(Smalltalk::Identity)),
    ("你能做什么", Some(Smalltalk::Identity)),
    ("你能干什么", Some(Smalltalk::Identity)),
    ("你会什么", Some(Smalltalk::Identity)),
    ("机器人", Some(Smalltalk::Identity)),
    ("真人", Some(Smalltalk::Identity)),
    ("人工智能", Some(Smalltalk::Identity)),
    ("ai", Some(Smalltalk::Identity)),
    ("今天几号", Some(Smalltalk::OffTopic)),
    ("几号", Some(Smalltalk::OffTopic)),
    ("星期几", Some(Smalltalk::OffTopic)),
    ("礼拜几", Some(Smalltalk::OffTopic)),
    ("几点了", Some(Smalltalk::OffTopic)),
    ("天气", Some(Smalltalk::OffTopic)),
    ("下雨", Some(Smalltalk::OffTopic)),
    ("笑话", Some(Smalltalk::OffTopic)),
    ("写首诗", Some(Smalltalk::OffTopic)),
    ("写诗", Some(Smalltalk::OffTopic)),
    ("一首诗", Some(Smalltalk::OffTopic)),
    ("唱首歌", Some(Smalltalk::OffTopic)),
    ("唱歌", Some(Smalltalk::OffTopic)),
    ("你几岁", Some(Smalltalk::OffTopic)),
    ("你多大", Some(Smalltalk::OffTopic)),
    ("吃饭了吗", Some(Smalltalk::OffTopic)),
    ("吃了吗", Some(Smalltalk::OffTopic)),
    // Words that only carry the ones above.
    ("今天", None),
    ("现在", None),
    ("明天", None),
    ("怎么样", None),
    ("能不能", None),
    ("可以", None),
    ("能", None),
    ("帮我", None),
    ("给我", None),
    ("讲个", None),
    ("讲一个", None),
    ("写一", None),
    ("帮助", None),
    ("帮忙", None),
    ("解答", None),
    ("回答", None),
    ("耐心", None),
    ("还是", None),
    ("你是", None),
    ("你", None),
    ("您", None),
    ("的", None),
    ("是", None),
    ("吗", None),
    ("啊", None),
    ("呀", None),
    ("呢", None),
    ("哈", None),
    ("吧", None),
    ("那", None),
    ("我", None),
    ("了", None),
    ("啦", None),
    ("嘛", None),
    ("嘞", None),
    ("滴", None),
    ("哒", None),
    ("~", None),
];

/// Places with customs of their own (other countries, and the separate customs territories of
/// Hong Kong, Macao and Taiwan). Longer names first, so 印度尼西亚 wins over 印度.
const PLACES: [&str; 111] = [
    "厄瓜多尔",
    "哥伦比亚",
    "委内瑞拉",
    "乌拉圭",
    "巴拉圭",
    "玻利维亚",
    "古巴",
    "埃塞俄比亚",
    "肯尼亚",
    "坦桑尼亚",
    "尼日利亚",
    "摩洛哥",
    "阿尔及利亚",
    "突尼斯",
    "津巴布韦",
    "赞比亚",
    "安哥拉",
    "莫桑比克",
    "马达加斯加",
    "卡塔尔",
    "科威特",
    "阿曼",
    "约旦",
    "黎巴嫩",
    "土库曼斯坦",
    "阿富汗",
    "阿塞拜疆",
    "格鲁吉亚",
    "亚美尼亚",
    "白俄罗斯",
    "捷克",
    "匈牙利",
    "罗马尼亚",
    "保加利亚",
    "塞尔维亚",
    "克罗地亚",
    "斯洛伐克",
    "斯洛文尼亚",
    "立陶宛",
    "拉脱维亚",
    "爱沙尼亚",
    "冰岛",
    "卢森堡",
    "文莱",
    "斐济",
    "印度尼西亚",
    "吉尔吉斯斯坦",
    "乌兹别克斯坦",
    "塔吉克斯坦",
    "哈萨克斯坦",
    "阿联酋",
    "澳大利亚",
    "新西兰",
    "新加坡",
    "马来西亚",
    "菲律宾",
    "巴基斯坦",
    "沙特阿拉伯",
    "沙特",
    "土耳其",
    "意大利",
    "西班牙",
    "葡萄牙",
    "俄罗斯",
    "加拿大",
    "墨西哥",
    "阿根廷",
    "以色列",
    "乌克兰",
    "柬埔寨",
    "尼泊尔",
    "孟加拉",
    "斯里兰卡",
    "日本",
    "韩国",
    "朝鲜",
    "美国",
    "英国",
    "法国",
    "德国",
    "荷兰",
    "比利时",
    "瑞士",
    "瑞典",
    "挪威",
    "丹麦",
    "芬兰",
    "波兰",
    "奥地利",
    "希腊",
    "爱尔兰",
    "澳洲",
    "泰国",
    "越南",
    "老挝",
    "缅甸",
    "印度",
    "印尼",
    "蒙古",
    "伊朗",
    "伊拉克",
    "埃及",
    "南非",
    "巴西",
    "智利",
    "秘鲁",
    "迪拜",
    "欧盟",
    "香港",
    "澳门",
    "台湾",
];

/// What follows a place when the question is about that place's own customs: its customs, entering
/// it, clearing goods there, its import taxes.
const ITS_CUSTOMS: [&str; 8] = [
    "海关",
    "入境",
    "清关",
    "进口关税",
    "进口税",
    "进口增值税",
    "关税税率",
    "入关",
];

/// When a normalised question is about another country's (or Hong Kong's, Macao's, Taiwan's)
/// customs rather than China's — 「日本入境能带多少现金」, 「德国进口关税起征点」, 「欧盟那边进口增值税」 —
/// the place. Goods or travellers coming *from* the place (从日本入境, 自香港进口) are China's
/// business and do not count.
pub fn foreign_customs(normalized: &str) -> Option<&'static str> {
    for (at, place) in places(normalized) {
        let rest = &normalized[at..];
        let before = normalized[..at].chars().next_back();
        if before.is_some_and(|c| "从自由经".contains(c)) {
            continue;
        }
        let after = rest[place.len()..]
            .trim_start_matches("那边的")
            .trim_start_matches("那边")
            .trim_start_matches("当地")
            .trim_start_matches('的');
        if ITS_CUSTOMS.iter().any(|c| after.starts_with(c)) {
            return Some(place);
        }
    }
    None
}

/// The places a normalised text names, in order, each with the byte offset where it starts.
fn places(normalized: &str) -> impl Iterator<Item = (usize, &'static str)> + '_ {
    // The characters a place starts with: only there can one start (a long message has hundreds
    // of characters, and comparing each with every place was a tenth of its time).
    static STARTS: std::sync::OnceLock<std::collections::HashSet<char>> = std::sync::OnceLock::new();
    let starts = STARTS.get_or_init(|| PLACES.iter().filter_map(|p| p.chars().next()).collect());
    normalized
        .char_indices()
        .filter(|(_, c)| starts.contains(c))
        .filter_map(|(at, _)| {
            PLACES
                .iter()
                .find(|p| normalized[at..].starts_with(**p))
                .map(|p| (at, *p))
        })
}

/// Whether a word is a place (country, region or bloc) people ask about.
pub fn is_place(word: &str) -> bool {
    PLACES.contains(&word)
}

/// The first place a normalised text names, if any.
pub fn place_in(normalized: &str) -> Option<&'static str> {
    places(normalized).next().map(|(_, place)| place)
}

/// A question only a person can answer, whatever the knowledge base holds: it asks about the
/// person's own case, asks the bot to work something out for them, or asks for one product's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Specific {
    /// Where one's own parcel, application, goods or case stands, or whether something is returned.
    OwnCase,
    /// "Work it out for me": the duty on an item, a check of one's documents.
    Calculation,
    /// The commodity code (and so the rate or licence) of a named product.
    CodeLookup,
    /// Whether a named product of a named country may be imported (its access status).
    Admission,
}

/// Whether the text holds a document number: 12 or more digits in a row (an 18-digit declaration
/// number, a 12–13-digit waybill), or letters followed by 9 or more digits (sf1234567890). Commodity
/// codes have at most 10 digits and are not matched.
fn names_a_document_number(normalized: &str) -> bool {
    let chars: Vec<char> = normalized.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            let lettered = start > 0 && chars[start - 1].is_ascii_alphabetic();
            if digits >= 12 || (lettered && digits >= 9) {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// Phrases that ask whether something may come in.
const MAY_IMPORT: [&str; 13] = [
    "能不能进口",
    "能否进口",
    "可否进口",
    "是否允许进口",
    "是否可以进口",
    "允不允许进口",
    "可不可以进口",
    "可以进口吗",
    "能进口吗",
    "允许进口吗",
    "准许进口吗",
    "有没有准入",
    "准入了吗",
];

/// 「能从…进口」: whether something may be imported, with the country said before the import.
const MAY_FROM: [&str; 6] = ["能从", "可以从", "能否从", "可否从", "允许从", "准许从"];

/// Phrases that ask where something stands or how it ended.
const STATUS: [&str; 32] = [
    "被退回",
    "还没通过",
    "还没有通过",
    "一直没通过",
    "还没批",
    "帮查一下",
    "退单原因",
    "为什么被退",
    "到哪了",
    "到哪一步",
    "什么进度",
    "进度怎么样",
    "进度如何",
    "审核到",
    "审批到",
    "批下来",
    "处理结果",
    "结果出来",
    "办好了没",
    "办好没",
    "能要回来",
    "要回来吗",
    "能退回来吗",
    "能拿回来",
    "拿回来吗",
    "什么时候能放行",
    "什么时候放行",
    "什么时候能批",
    "啥时候能批",
    "啥时候放行",
    "能放行吗",
    "能不能放行",
];
/// Phrases that point at the person's own item or case (我的包裹, 我们公司的申请, 我妈在机场…), not
/// at people in general (给我反馈, 我们进口一批货时…).
const OWN: [&str; 23] = [
    "我的",
    "我们的",
    "我司",
    "我们公司的",
    "我公司的",
    "本公司的",
    "我家",
    "我妈",
    "我爸",
    "我在",
    "我朋友的",
    "我老婆",
    "我老公",
    "我们这批",
    "我们这票",
    "我司这批",
    "我司这票",
    "我们那批",
    // 「我上个月在德国网站买了一台咖啡机…什么时候能放行」: something the person did, dated.
    "我上个月",
    "我上周",
    "我前几天",
    "我前段时间",
    "我昨天",
];

/// Phrases of a card, account or system the person cannot get into (IC卡被锁, 密码忘了, 单一窗口登不上).
const NO_ACCESS: [&str; 17] = [
    "被锁",
    "锁住了",
    "锁卡",
    "密码忘",
    "忘记密码",
    "忘了密码",
    "密码错",
    "密码输错",
    "重置密码",
    "密码重置",
    "登不上",
    "登录不了",
    "登陆不了",
    "无法登录",
    "无法登陆",
    "登录不上",
    "进不去系统",
];

/// Documents of a decision taken in a case (with [`OWN`]: the person's own case).
const DECIDED: [&str; 5] = ["处罚决定书", "罚款决定书", "处罚告知书", "不予放行通知", "扣留决定书"];

/// Phrases that ask for a judgement on one particular item (with [`OWN`]: 我家那个花瓶算不算文物).
const JUDGED: [&str; 4] = ["算不算", "属不属于", "算是不是", "是不是属于"];

/// Phrases that ask how much of one's own allowance is used or left.
const ALLOWANCE_USED: [&str; 5] = ["已经用了多少", "用了多少额度", "还剩多少额度", "剩多少额度", "剩余额度"];

/// Phrases that ask the bot to work something out for the person.
const WORK_IT_OUT: [&str; 9] = [
    "帮我算",
    "给我算",
    "帮忙算",
    "帮我查",
    "帮忙查",
    "帮我看看",
    "帮我看下",
    "替我查",
    "帮我核",
];
/// Phrases that ask for a named product's commodity code.
const CODE_OF: [&str; 14] = [
    "hscode是",
    "hs码是",
    "hs编码是什么",
    "hs编码是多少",
    "hs编码是啥",
    "商品编码是多少",
    "商品编码是什么",
    "税号是多少",
    "税号是什么",
    "归哪个编码",
    "归到哪个税号",
    "是哪个编码",
    "是什么编码",
    "是哪个税号",
];

/// Whether a normalised question is one only a person can answer (see [`Specific`]): the bot then
/// hands it to a person, naming the general rule as background where one fits, instead of
/// presenting an entry as the answer to someone's own case.
pub fn specific_request(normalized: &str) -> Option<Specific> {
    // A declaration, waybill or case number names one's own shipment or case.
    if names_a_document_number(normalized) {
        return Some(Specific::OwnCase);
    }
    // A locked card, a forgotten password, a system one cannot log in to: always one's own
    // account, and only a person (the card or system's help desk) can restore it.
    if NO_ACCESS.iter().any(|p| normalized.contains(p)) {
        return Some(Specific::OwnCase);
    }
    let own = OWN.iter().any(|p| normalized.contains(p));
    if own && STATUS.iter().any(|p| normalized.contains(p)) {
        return Some(Specific::OwnCase);
    }
    // 「我司收到行政处罚决定书…」: a decision in one's own case; 「我家那个花瓶算不算文物」: a judgement
    // on one's own item; 「我今年已经用了多少额度」: one's own account.
    let decided_or_judged = DECIDED.iter().chain(JUDGED.iter()).any(|p| normalized.contains(p));
    if (own && decided_or_judged) || ALLOWANCE_USED.iter().any(|p| normalized.contains(p)) {
        return Some(Specific::OwnCase);
    }
    if WORK_IT_OUT.iter().any(|p| normalized.contains(p)) {
        return Some(Specific::Calculation);
    }
    let compact: String = normalized.chars().filter(|c| !c.is_whitespace()).collect();
    if CODE_OF.iter().any(|p| compact.contains(p)) || asks_a_products_rate(normalized) || asks_a_codes_terms(normalized)
    {
        return Some(Specific::CodeLookup);
    }
    // 「蒙古国的马肉能进口吗」, 「能从阿根廷进口冷冻牛肉吗」: one product of one country — its access list
    // entry, looked up by a person.
    let may_import = MAY_IMPORT.iter().any(|p| normalized.contains(p))
        || (MAY_FROM.iter().any(|p| normalized.contains(p)) && normalized.contains("进口"));
    if may_import && place_in(normalized).is_some() {
        return Some(Specific::Admission);
    }
    None
}

/// Whether an entry holds the access status a [`Specific::Admission`] question asks about: one of
/// its `terms` (title, keywords) names a country's product — it contains a country or region — and
/// the question names that product (日本水产品 in 「日本水产品现在能进口吗」). 「日本大米能进口吗」 finds the
/// same entry but names none of its products: still a person's lookup.
pub fn holds_the_admission<'a>(normalized: &str, mut terms: impl Iterator<Item = &'a str>) -> bool {
    terms.any(|t| {
        let t = t.trim();
        !t.is_empty() && normalized.contains(t) && PLACES.iter().any(|p| t.contains(p) && t != *p)
    })
}

/// Words that name no particular product in 「…关税是多少」 (the question is about the rule).
const NO_PRODUCT: [&str; 14] = [
    "货物",
    "商品",
    "物品",
    "个人物品",
    "进境物品",
    "行邮税",
    "行邮",
    "邮包",
    "包裹",
    "跨境电商",
    "海关",
    "我国",
    "中国",
    "一般",
];

/// 「进口红酒关税是多少」, 「铜精矿进口关税税率是多少」: the rate of one named product, which depends on its
/// commodity code — a person's (or a ruling's) answer, not an entry's. 「进口关税税率是多少」 and
/// 「行邮税税率是多少」 (or any tax's name before 税率) name no product and are questions about the rules.
fn asks_a_products_rate(normalized: &str) -> bool {
    if !["多少", "几个点", "几个税点", "是几"]
        .iter()
        .any(|p| normalized.contains(p))
    {
        return false;
    }
    let Some(at) = ["关税", "税率", "综合税"]
        .iter()
        .filter_map(|w| normalized.find(w))
        .min()
    else {
        return false;
    };
    let mut head = normalized[..at].to_string();
    for noise in [
        "请问",
        "您好",
        "你好",
        "想问一下",
        "问一下",
        "麻烦问下",
        "进口",
        "出口",
        "的",
        "现在",
        "目前",
        "最新",
        "综合",
    ] {
        head = head.replace(noise, "");
    }
    let head = super::letters(&head);
    // A tax's own name (行邮税, 邮包税, 消费税 — or mistyped, 行油税) is not a product.
    head.chars().count() >= 2 && !head.ends_with('税') && !NO_PRODUCT.iter().any(|w| head == *w)
}

/// What one commodity code's line of the tariff says: its rate, its licences and conditions.
const CODE_TERMS: [&str; 7] = [
    "税率",
    "关税",
    "监管条件",
    "许可证",
    "检验检疫类别",
    "出口退税率",
    "消费税",
];

/// Whether a normalised message names a commodity code (8 to 10 digits, 0303890090) and asks what
/// its line says (税率, 监管条件 …): a person reads the tariff for that one code.
fn asks_a_codes_terms(normalized: &str) -> bool {
    let names_a_code = normalized
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| (8..=10).contains(&run.len()));
    names_a_code && CODE_TERMS.iter().any(|t| normalized.contains(t))
}

/// Whether a normalised message asks for a person (转人工, 人工客服 …) rather than asking a question.
pub fn wants_human(normalized: &str) -> bool {
    let core = super::letters(normalized);
    core == "人工" || (HUMAN.iter().any(|p| core.contains(p)) && core.chars().count() <= 12)
}

/// Recognises small talk in a normalised message (see `text::normalize`). Returns `None` for
/// anything that should be searched (check [`wants_human`] first).
pub fn smalltalk(normalized: &str) -> Option<Smalltalk> {
    if !normalized.chars().any(char::is_alphanumeric) {
        return Some(Smalltalk::NoText);
    }
    let core = super::letters(normalized);
    // Consume the message fragment by fragment, longest first; anything else makes it a question.
    let mut rest = core.as_str();
    let mut seen: Vec<Smalltalk> = Vec::new();
    while !rest.is_empty() {
        let best = FRAGMENTS
            .iter()
            .filter(|(f, _)| rest.starts_with(f))
            .max_by_key(|(f, _)| f.len())?;
        if let Some(kind) = best.1 {
            seen.push(kind);
        }
        rest = &rest[best.0.len()..];
    }
    // What the message is mostly about: who we are, chit-chat, then thanks, then goodbye, then hello.
    [
        Smalltalk::Identity,
        Smalltalk::OffTopic,
        Smalltalk::Thanks,
        Smalltalk::Goodbye,
        Smalltalk::Greeting,
    ]
    .into_iter()
    .find(|k| seen.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_found_in_a_question() {
        assert!(is_place("日本"));
        assert!(!is_place("水产品"));
        assert_eq!(place_in("输欧盟的普惠制产地证还能签吗"), Some("欧盟"));
        assert_eq!(place_in("印度尼西亚海关清关要多久"), Some("印度尼西亚"));
        assert_eq!(place_in("普惠制产地证还能签吗"), None);
    }

    #[test]
    fn an_entry_naming_the_countrys_product_holds_its_admission() {
        let terms = ["日本水产品现在能不能进口", "日本水产品", "日本", "福岛"];
        assert!(holds_the_admission("日本水产品现在能进口吗", terms.iter().copied()));
        // The same country, another product; and a country alone names no product.
        assert!(!holds_the_admission("日本大米能进口吗", terms.iter().copied()));
        assert!(!holds_the_admission("日本的东西能进口吗", ["日本"].iter().copied()));
    }

    #[test]
    fn a_document_number_is_ones_own_case_a_commodity_code_is_not() {
        assert_eq!(
            specific_request("报关单号110120240000123456怎么还没放行"),
            Some(Specific::OwnCase)
        );
        assert_eq!(
            specific_request("单号sf1234567890到海关一周了"),
            Some(Specific::OwnCase)
        );
        assert_ne!(specific_request("8471300000要什么监管证件"), Some(Specific::OwnCase));
        assert_eq!(specific_request("报关单怎么修改"), None);
        assert_eq!(specific_request("我司报关单被退回是什么原因"), Some(Specific::OwnCase));
        assert_eq!(specific_request("锂电池的hs code是哪个"), Some(Specific::CodeLookup));
    }

    #[test]
    fn a_judgement_on_ones_own_item_a_decision_in_ones_own_case_and_ones_allowance_go_to_a_person() {
        assert_eq!(
            specific_request("我家那个民国的花瓶算不算文物"),
            Some(Specific::OwnCase)
        );
        assert_eq!(specific_request("民国的花瓶算不算文物"), None);
        assert_eq!(specific_request("我今年已经用了多少额度"), Some(Specific::OwnCase));
        assert_eq!(
            specific_request("我司收到贵关的行政处罚决定书，觉得罚得太重"),
            Some(Specific::OwnCase)
        );
        assert_eq!(specific_request("行政处罚决定书多久送达"), None);
    }

    #[test]
    fn one_product_of_a_named_country_is_an_access_question() {
        assert_eq!(
            specific_request("厄瓜多尔的冷冻白虾现在能进口吗"),
            Some(Specific::Admission)
        );
        assert_eq!(specific_request("冷冻白虾能进口吗"), None);
    }

    #[test]
    fn smalltalk_table() {
        let cases = [
            ("哦 这样啊", Some(Smalltalk::Goodbye)),
            ("好 那我再等等", Some(Smalltalk::Goodbye)),
            ("原来如此", Some(Smalltalk::Goodbye)),
            ("行吧 我打电话问问", Some(Smalltalk::Goodbye)),
            ("那我去窗口问问", None),
            ("那我再问问别的", None),
            ("打电话问问哪个部门", None),
            ("你好", Some(Smalltalk::Greeting)),
            ("您好!!", Some(Smalltalk::Greeting)),
            ("在吗?", Some(Smalltalk::Greeting)),
            ("hello", Some(Smalltalk::Greeting)),
            ("谢谢啊", Some(Smalltalk::Thanks)),
            ("谢谢你的帮助", Some(Smalltalk::Thanks)),
            ("非常感谢您的耐心解答!", Some(Smalltalk::Thanks)),
            ("收到,感谢", Some(Smalltalk::Thanks)),
            ("嗯嗯好的", Some(Smalltalk::Goodbye)),
            ("好嘞", Some(Smalltalk::Goodbye)),
            ("好滴 谢谢", Some(Smalltalk::Thanks)),
            ("ok", Some(Smalltalk::Goodbye)),
            ("你是真人还是机器人", Some(Smalltalk::Identity)),
            ("你好,在吗", Some(Smalltalk::Greeting)),
            ("好的,报关单怎么改", None),
            ("谢谢,滞报金怎么算", None),
            ("thank you", Some(Smalltalk::Thanks)),
            ("再见", Some(Smalltalk::Goodbye)),
            ("你是机器人吗", Some(Smalltalk::Identity)),
            ("今天几号", Some(Smalltalk::OffTopic)),
            ("你好,今天天气怎么样", Some(Smalltalk::OffTopic)),
            ("你能帮我写首诗吗", Some(Smalltalk::OffTopic)),
            ("讲个笑话", Some(Smalltalk::OffTopic)),
            ("今天海关几点下班", None),
            ("12360是几号", None),
            ("下雨天货物受潮了能退税吗", None),
            ("🎉🎉🎉", Some(Smalltalk::NoText)),
            ("   ", Some(Smalltalk::NoText)),
            ("你好,报关单怎么修改", None),
            ("人工智能产品进口怎么报关需要哪些单证材料", None),
            ("滞报金", None),
            ("人工智能设备怎么报关", None),
        ];
        for (input, expected) in cases {
            assert_eq!(smalltalk(input), expected, "smalltalk({input:?})");
        }
        for (input, specific) in [
            ("我的预裁定申请审核到哪了", Some(Specific::OwnCase)),
            ("我的IC卡密码输错被锁了 怎么解", Some(Specific::OwnCase)),
            ("我们公司的卡密码忘了，能帮我重置吗", Some(Specific::OwnCase)),
            ("单一窗口登不上去怎么办", Some(Specific::OwnCase)),
            ("电子口岸卡怎么办理", None),
            ("请问我妈在机场被没收的牛肉干还能要回来吗", Some(Specific::OwnCase)),
            ("帮我查下我在机场被暂存的行李处理结果", Some(Specific::OwnCase)),
            (
                "我上个月在德国网站买了一台咖啡机，一直显示海关查验中，什么时候能放行",
                Some(Specific::OwnCase),
            ),
            ("一般申报以后什么时候能放行", None),
            ("请问zara的羽绒服算几档行邮税,帮我算下税额", Some(Specific::Calculation)),
            ("您好,请问蓝牙耳机的hs编码是什么", Some(Specific::CodeLookup)),
            ("蓝牙耳机是哪个编码", Some(Specific::CodeLookup)),
            ("hs编码怎么查", None),
            ("我的包裹被海关扣了怎么办", None),
            ("实名举报走私之后海关会给我反馈处理结果吗", None),
            ("我们一批进口货物价格还在审核,多久能批下来", None),
            ("请问我们公司的减免税申请什么时候能批下来", Some(Specific::OwnCase)),
            ("预裁定申请审核要多久", None),
            ("我们这批奶粉卫生证书日期写错了 能放行吗", Some(Specific::OwnCase)),
            ("阿根廷的冷冻牛肉目前是否允许进口", Some(Specific::Admission)),
            ("现在能从阿根廷进口冷冻牛肉吗", Some(Specific::Admission)),
            ("能从阿根廷回来吗", None),
            ("能从企业进口设备吗", None),
            ("卫生证书日期写错了货物能放行吗", None),
            ("行邮税税率是多少", None),
            ("行油税税率多少,分几档", None),
            ("邮包税税率是多少", None),
            ("进口红酒关税是多少个点", Some(Specific::CodeLookup)),
            ("铜精矿进口关税税率是多少", Some(Specific::CodeLookup)),
            ("进口汽车关税是多少", Some(Specific::CodeLookup)),
            ("进口关税税率是多少", None),
            ("0303890090在中国—东盟协定下税率是几?", Some(Specific::CodeLookup)),
            ("8471300000的监管条件是什么", Some(Specific::CodeLookup)),
            ("税号是10位还是8位", None),
            (
                "我司食品进口商备案提交三天了还没通过,能帮查一下吗",
                Some(Specific::OwnCase),
            ),
            ("进口商备案提交了一般多久通过", None),
            ("进口货物的关税是多少", None),
            ("个人物品的税率是多少", None),
            ("关税怎么算", None),
        ] {
            assert_eq!(specific_request(input), specific, "specific_request({input:?})");
        }
        for (input, place) in [
            ("日本入境能带多少现金", Some("日本")),
            ("去日本旅游,日本海关入境能带多少现金", Some("日本")),
            ("德国进口关税起征点是多少", Some("德国")),
            ("出口到欧盟,欧盟那边进口增值税怎么算", Some("欧盟")),
            ("香港入境可以带几条烟", Some("香港")),
            ("印度尼西亚海关清关要多久", Some("印度尼西亚")),
            ("从日本入境能带多少现金", None),
            ("从香港入境可以带几条烟", None),
            ("日本进口的奶粉能带吗", None),
            ("出口到东盟怎么享受关税优惠", None),
            ("进口美国大豆要什么手续", None),
            ("滞报金怎么算", None),
        ] {
            assert_eq!(foreign_customs(input), place, "foreign_customs({input:?})");
        }
        for (input, human) in [
            ("转人工", true),
            ("我要转人工客服", true),
            ("人工", true),
            ("人工智能产品进口怎么报关需要哪些单证材料", false),
            ("人工智能设备怎么报关", false),
            ("滞报金", false),
            ("", false),
        ] {
            assert_eq!(wants_human(input), human, "wants_human({input:?})");
        }
    }
}
