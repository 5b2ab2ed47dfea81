//! The hall's kiosk (`/kiosk`): router tests without a server (taps and questions through the desk,
//! escaping, calm 404s, the QR code of a hand-off, 结束); the touchscreen end to end in headless
//! Chromium is `kiosk_browser.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::Desk;
use customs_bot::tickets::{SqliteStore, TicketStore};

use crate::support::{copy_tree, fixtures};
use crate::web::{form, get, send};

const NASTY: &str = "<script>alert(1)</script>";
const NASTY_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

struct Kiosk {
    _dir: tempfile::TempDir,
    assistant: Arc<Assistant>,
    store: Arc<SqliteStore>,
    app: axum::Router,
}

impl Kiosk {
    /// Another web app over the same assistant and store (a restarted server).
    fn restarted(&self) -> axum::Router {
        customs_bot::web::router(Arc::new(Desk::new(self.assistant.clone(), self.store.clone())))
    }
}

/// The valid fixture plus two permits with sections and a related entry, one titled with HTML,
/// and tiles of its own (one titled with HTML too).
fn kiosk(extra: &str) -> Kiosk {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/knowledge"), &dir.path().join("knowledge"));
    std::fs::create_dir_all(dir.path().join("knowledge/permit")).unwrap();
    let entry = |id: &str, title: &str, questions: &str, related: &str, body: &str| {
        std::fs::write(
            dir.path().join(format!("knowledge/permit/{id}.md")),
            format!(
                "+++\nid = \"{id}\"\nkind = \"permit\"\ntitle = \"{title}\"\nquestions = [{questions}]\nkeywords = []\n\
                 legal_basis = [\"《进出境动植物检疫法》第三十条\"]\nupdated = 2026-11-26\nrelated = [{related}]\n+++\n{body}\n"
            ),
        )
        .unwrap();
    };
    entry(
        "permit-pets",
        "携带宠物入境许可",
        "\"宠物入境要办什么许可\"",
        "\"permit-nasty\"",
        "携带犬猫入境的检疫审批。\n\n**所需材料**：\n- 官方检疫证书；\n- 狂犬病疫苗接种证书。\n\n**办理时限**：当场办结。",
    );
    entry(
        "permit-nasty",
        &format!("危险标题{}", NASTY.replace('"', "\\\"")),
        "\"危险标题测试许可怎么办\"",
        "",
        &format!("说明 {NASTY}。\n\n**收费**：不收费。"),
    );
    let text = format!(
        "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
         [web]\nkiosk_idle_seconds = 10\n{extra}\n\
         [[kiosk.tiles]]\nkey = \"permits\"\ntitle = \"许可<b>大</b>\"\nkinds = [\"permit\"]\n\
         [[kiosk.tiles]]\nkey = \"procedures\"\ntitle = \"办事程序\"\nkinds = [\"procedure\"]\n"
    );
    std::fs::write(dir.path().join("bot.toml"), text).unwrap();
    let config = Config::load(&dir.path().join("bot.toml")).unwrap();
    let assistant = Arc::new(Assistant::start(config).unwrap());
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let app = customs_bot::web::router(Arc::new(Desk::new(assistant.clone(), store.clone())));
    Kiosk {
        _dir: dir,
        assistant,
        store,
        app,
    }
}

/// `cb_chat=<token>` from a response that set it.
fn cookie_of(headers: &axum::http::HeaderMap) -> String {
    headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn get_as(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post_as(uri: &str, body: &str, cookie: &str, host: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .header(header::HOST, host)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The text a QR code drawn by the kiosk (an inline SVG: rectangles in one path) encodes.
pub(crate) fn decode_qr_svg(page: &str) -> String {
    let start = page.find("<svg").expect("a QR code on the page");
    let svg = &page[start..start + page[start..].find("</svg>").unwrap()];
    let number = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    let (w, h) = (number("width"), number("height"));
    let d = &svg[svg.find(" d=\"").unwrap() + 4..];
    let d = &d[..d.find('"').unwrap()];
    let mut dark = vec![false; w * h];
    // Each module run is `M{left} {top}h{width}v{height}H{left}V{top}`.
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (left, top, width, height) = (nums[0], nums[1], nums[2], nums[3]);
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
    }
    decode_grey(w, h, |x, y| if dark[y * w + x] { 0 } else { 255 })
}

/// The text of the one QR code in a greyscale picture.
pub(crate) fn decode_grey(w: usize, h: usize, pixel: impl Fn(usize, usize) -> u8) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test]
async fn taps_go_through_the_desk_as_chosen_entries_and_every_screen_is_escaped() {
    let k = kiosk("");
    let (status, headers, home) = send(&k.app, get("/kiosk")).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie_of(&headers);
    assert!(
        home.contains("class=\"kiosk\"") && home.contains("/static/kiosk.css") && home.contains("/static/kiosk.js")
    );
    assert!(
        home.contains("许可&lt;b&gt;大&lt;/b&gt;") && !home.contains("许可<b>"),
        "{home}"
    );
    assert!(home.contains("href=\"/kiosk/c/permits\"") && home.contains("找人工") && home.contains("结束"));
    assert!(!home.contains("本周大家常问"), "nothing asked yet: no row");
    assert!(
        !home.contains("src=\"http") && !home.contains("href=\"http"),
        "nothing from elsewhere"
    );

    let (status, _, category) = send(&k.app, get("/kiosk/c/permits")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        category.contains("携带宠物入境许可") && category.contains(NASTY_ESCAPED),
        "{category}"
    );
    assert!(!category.contains("<script>alert"), "{category}");

    // A tap is a chosen entry: logged as such, then the entry's page.
    let (status, headers, _) = send(
        &k.app,
        post_as("/kiosk/open", &form(&[("id", "permit-pets")]), &cookie, "kiosk.local"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/kiosk/e/permit-pets");
    let logged = k.store.recent_questions(1).unwrap().remove(0);
    assert_eq!(logged.question, "[选择] 携带宠物入境许可");
    assert_eq!(logged.entry.as_deref(), Some("permit-pets"));
    assert_eq!(logged.decision, "answer");

    let (_, _, page) = send(&k.app, get("/kiosk/e/permit-pets")).await;
    for tab in ["概要", "所需材料", "办理时限", "法律依据"] {
        assert!(page.contains(&format!(">{tab}</a>")), "tab {tab}: {page}");
    }
    assert!(
        page.contains("检疫审批") && !page.contains("狂犬病疫苗"),
        "the first panel only: {page}"
    );
    assert!(page.contains("href=\"/kiosk/c/permits\""), "back to its tile");
    assert!(
        page.contains("value=\"permit-nasty\"") && page.contains(NASTY_ESCAPED),
        "related as a button: {page}"
    );
    let (_, _, page) = send(&k.app, get("/kiosk/e/permit-pets?s=1")).await;
    assert!(page.contains("狂犬病疫苗") && !page.contains("当场办结"), "{page}");
    assert!(page.contains("aria-current=\"page\">所需材料<"), "{page}");
    let (_, _, page) = send(&k.app, get("/kiosk/e/permit-pets?s=3")).await;
    assert!(page.contains("《进出境动植物检疫法》第三十条"), "{page}");
    let (_, _, page) = send(&k.app, get("/kiosk/e/permit-nasty")).await;
    assert!(
        page.contains(NASTY_ESCAPED) && !page.contains("<script>alert"),
        "{page}"
    );

    // Most asked: counted from the log (at most once a minute), titles only.
    let (_, _, home) = send(&k.app, get_as("/kiosk", &cookie)).await;
    assert!(!home.contains("本周大家常问"), "counted a moment ago: {home}");
    let (_, _, home) = send(&k.restarted(), get_as("/kiosk", &cookie)).await;
    assert!(home.contains("本周大家常问"), "{home}");
    let row = &home[home.find("本周大家常问").unwrap()..];
    assert!(
        row.contains("value=\"permit-pets\"") && row.contains("携带宠物入境许可"),
        "{row}"
    );
    assert!(!row.contains("[选择]"), "{row}");

    // A typed question is a question; HTML in it is escaped.
    let (status, _, page) = send(
        &k.app,
        post_as(
            "/kiosk/ask",
            &form(&[("q", &format!("宠物入境要办什么许可{NASTY}"))]),
            &cookie,
            "kiosk.local",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(NASTY_ESCAPED) && !page.contains("<script>alert"),
        "{page}"
    );
    let logged = k.store.recent_questions(1).unwrap().remove(0);
    assert!(logged.question.starts_with("宠物入境要办什么许可"), "{logged:?}");
    // A follow-up reads the conversation: the topic's section.
    let (_, _, page) = send(
        &k.app,
        post_as("/kiosk/ask", &form(&[("q", "需要什么材料")]), &cookie, "kiosk.local"),
    )
    .await;
    assert!(
        page.contains("狂犬病疫苗") && page.contains("携带宠物入境许可"),
        "{page}"
    );
}

#[tokio::test]
async fn unknown_kiosk_pages_and_entries_get_a_calm_404_page() {
    let k = kiosk("");
    let (_, headers, _) = send(&k.app, get("/kiosk")).await;
    let cookie = cookie_of(&headers);
    for uri in [
        "/kiosk/c/nope",
        "/kiosk/c/%3Cscript%3E",
        "/kiosk/e/nope",
        "/kiosk/e/permit-pets?s=9",
        "/kiosk/e/permit-pets?s=x",
        "/kiosk/nothing",
    ] {
        let (status, _, page) = send(&k.app, get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.contains("返回首页") && !page.contains("<script"), "{uri}: {page}");
        if uri != "/kiosk/nothing" {
            assert!(
                page.contains("class=\"kiosk\"") && page.contains("找人工"),
                "{uri}: {page}"
            );
        }
    }
    for id in ["nope", "../bot", "permit-pets/../x", ""] {
        let (status, _, page) = send(
            &k.app,
            post_as("/kiosk/open", &form(&[("id", id)]), &cookie, "kiosk.local"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert!(page.contains("没有这一条"), "{page}");
    }
    assert_eq!(
        k.store.recent_questions(10).unwrap().len(),
        0,
        "nothing logged for an unknown entry"
    );
    let (status, _, page) = send(&k.app, post_as("/kiosk/open", "di=1", &cookie, "kiosk.local")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("返回首页"), "{page}");
}

#[tokio::test]
async fn a_hand_off_shows_the_ticket_page_as_a_qr_code() {
    // That the key never reaches the log is checked on the real process: web_server.rs.
    let k = kiosk("");
    let (_, headers, _) = send(&k.app, get("/kiosk")).await;
    let cookie = cookie_of(&headers);

    // A typed question only a person can answer: the ticket's page as a QR code.
    let (_, _, page) = send(
        &k.app,
        post_as(
            "/kiosk/ask",
            &form(&[("q", "西宁明天天气怎么样")]),
            &cookie,
            "kiosk.local:8080",
        ),
    )
    .await;
    let t = k.store.ticket(1).unwrap().expect("a ticket");
    assert!(
        page.contains("已登记为工单 T000001") && page.contains("12360"),
        "{page}"
    );
    assert!(!page.contains(&t.access_key), "the key only inside the QR code: {page}");
    let url = decode_qr_svg(&page);
    assert_eq!(
        url,
        format!("http://kiosk.local:8080/ticket/T000001?key={}", t.access_key)
    );
    let (status, _, ticket_page) = send(&k.app, get(url.strip_prefix("http://kiosk.local:8080").unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ticket_page.contains("西宁明天天气怎么样"), "{ticket_page}");

    // 找人工 starts from what the conversation is about and opens a ticket of its own, with its QR code.
    send(
        &k.app,
        post_as("/kiosk/ask", &form(&[("q", "宠物入境要办什么许可")]), &cookie, "k"),
    )
    .await;
    let (_, _, page) = send(&k.app, get_as("/kiosk/person", &cookie)).await;
    let note = &page[page.find("<textarea").unwrap()..page.find("</textarea>").unwrap()];
    assert!(
        note.contains("宠物入境要办什么许可") || note.contains("关于「携带宠物入境许可」"),
        "{page}"
    );
    let (_, _, page) = send(
        &k.app,
        post_as("/kiosk/person", &form(&[("q", "  ")]), &cookie, "kiosk.local"),
    )
    .await;
    assert!(page.contains("请先写下您的问题"), "{page}");
    assert!(k.store.ticket(2).unwrap().is_none());
    let (_, _, page) = send(
        &k.app,
        post_as("/kiosk/person", &form(&[("q", "想问宠物隔离")]), &cookie, "kiosk.local"),
    )
    .await;
    let t2 = k.store.ticket(2).unwrap().expect("a second ticket");
    assert_eq!(t2.question, "想问宠物隔离");
    assert_eq!(
        decode_qr_svg(&page),
        format!("http://kiosk.local/ticket/T000002?key={}", t2.access_key)
    );

    // A Host that is not a plain host name gives no QR code, only the number.
    let (_, _, page) = send(
        &k.app,
        post_as(
            "/kiosk/person",
            &form(&[("q", "再问一次")]),
            &cookie,
            "evil.example/\"><x",
        ),
    )
    .await;
    assert!(
        page.contains("已登记为工单 T000003") && !page.contains("<svg"),
        "{page}"
    );
}

#[tokio::test]
async fn a_public_url_is_the_address_in_the_qr_code() {
    let k = kiosk("[kiosk]\npublic_url = \"https://zixun.example.cn/\"\n");
    let (_, headers, _) = send(&k.app, get("/kiosk")).await;
    let cookie = cookie_of(&headers);
    let (_, _, page) = send(
        &k.app,
        post_as("/kiosk/person", &form(&[("q", "请联系我")]), &cookie, "127.0.0.1:8080"),
    )
    .await;
    let t = k.store.ticket(1).unwrap().unwrap();
    assert_eq!(
        decode_qr_svg(&page),
        format!("https://zixun.example.cn/ticket/T000001?key={}", t.access_key)
    );
}

#[tokio::test]
async fn end_forgets_the_conversation_and_starts_a_new_one() {
    let k = kiosk("");
    let (_, headers, _) = send(&k.app, get("/kiosk")).await;
    let cookie = cookie_of(&headers);
    send(
        &k.app,
        post_as("/kiosk/ask", &form(&[("q", "宠物入境要办什么许可")]), &cookie, "k"),
    )
    .await;
    let chat = crate::web::chat_of(&cookie);
    let since = chrono::Utc::now() - chrono::Duration::minutes(30);
    assert!(k.store.conversation("web", &chat, since).unwrap().is_some());

    let (status, headers, _) = send(&k.app, post_as("/kiosk/end", "", &cookie, "k")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/kiosk");
    let fresh = cookie_of(&headers);
    assert_ne!(fresh, cookie, "a new conversation");
    assert!(
        k.store.conversation("web", &chat, since).unwrap().is_none(),
        "forgotten on the server"
    );
    // The next person's follow-up is not read against the last one's topic, nor is the note prefilled.
    let (_, _, page) = send(&k.app, get_as("/kiosk/person", &fresh)).await;
    assert!(page.contains("></textarea>"), "{page}");
    let (_, _, page) = send(
        &k.app,
        post_as("/kiosk/ask", &form(&[("q", "需要什么材料")]), &fresh, "k"),
    )
    .await;
    assert!(!page.contains("狂犬病疫苗"), "{page}");
}

#[tokio::test]
async fn too_many_taps_from_one_address_get_a_calm_page() {
    let k = kiosk("requests_per_minute = 2");
    let (_, headers, _) = send(&k.app, get("/kiosk")).await;
    let cookie = cookie_of(&headers);
    for _ in 0..2 {
        let (status, _, _) = send(
            &k.app,
            post_as("/kiosk/open", &form(&[("id", "permit-pets")]), &cookie, "k"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let (status, _, page) = send(
        &k.app,
        post_as("/kiosk/open", &form(&[("id", "permit-pets")]), &cookie, "k"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("稍等") && page.contains("返回首页"), "{page}");
}

#[test]
fn the_shipped_tiles_are_the_default_ones_and_hold_every_shipped_entry() {
    let config = Config::load(&crate::support::repo().join("bot.toml")).unwrap();
    assert_eq!(config.kiosk, customs_bot::config::KioskConfig::default());
    let loaded = customs_bot::app::load_knowledge(&config);
    assert!(loaded.knowledge.entries.len() > 100);
    let homeless: Vec<&str> = loaded
        .knowledge
        .entries
        .iter()
        .filter(|e| !config.kiosk.tiles.iter().any(|t| t.holds(e.kind, &e.id)))
        .map(|e| e.id.as_str())
        .collect();
    assert!(homeless.is_empty(), "entries under no tile: {homeless:?}");
}
