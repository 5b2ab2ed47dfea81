//! The hall's kiosk in headless Chromium at 1080×1920 with touch emulation (chromedriver's
//! `mobileEmulation` with `deviceMetrics` 1080×1920, pixel ratio 1, `touch: true`), then in a
//! plain window at 1920×1080 (landscape) and 540×960 (the portrait screen at 200 % zoom).
//! Screenshots go to `$CUSTOMS_BOT_SCREENSHOTS` when it is set (`docs/screenshots` for the
//! committed ones); the QR code is always read back from a screenshot.

use std::sync::Arc;
use std::time::Duration;

use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::{Channel, Chat, Desk};
use customs_bot::tickets::{SqliteStore, TicketStore};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::kiosk::decode_grey;
use crate::web::browser::{browser_with, wait_text};

/// Taps the first element matching `css` whose text contains `text`. An element the page replaced
/// between finding and tapping it (a stale reference: the bar is drawn again after an answer) is
/// looked up again; a tap that lands is never repeated.
async fn tap(c: &Client, css: &str, text: &str) {
    for _ in 0..100 {
        for el in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if el.text().await.is_ok_and(|t| t.contains(text)) {
                match el.click().await {
                    Ok(()) => return,
                    Err(fantoccini::error::CmdError::Standard(e))
                        if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                    {
                        break;
                    }
                    Err(e) => panic!("tapping {css} {text:?}: {e}"),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "nothing to tap: {css} {text:?}; page: {}",
        c.source().await.unwrap_or_default()
    );
}

async fn type_and_send(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
    field.send_keys("\u{e007}").await.unwrap(); // Enter submits the form
}

/// The screenshot as PNG bytes, also written to `$CUSTOMS_BOT_SCREENSHOTS/<name>` when set.
async fn shot(c: &Client, name: &str) -> Vec<u8> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.unwrap();
    if let Ok(dir) = std::env::var("CUSTOMS_BOT_SCREENSHOTS") {
        std::fs::write(std::path::Path::new(&dir).join(name), &png).unwrap();
    }
    png
}

/// The text of the QR code in a screenshot.
fn decode_png(png: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    decode_grey(w, h, |x, y| {
        let p = &buf[(y * w + x) * channels..];
        if channels >= 3 {
            ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8
        } else {
            p[0]
        }
    })
}

/// What the screen offers to touch and read: targets under 48 px, text under 20 px, and how far
/// the page is wider than the window.
async fn check_layout(c: &Client, what: &str) {
    let js = r#"
        const small = [], tiny = [];
        for (const el of document.querySelectorAll('.k-bar a, .k-bar button, a.k-btn, a.k-tile, .k-tabs a, main button, input:not([type=hidden]), textarea')) {
          const r = el.getBoundingClientRect();
          if (r.height < 48 || r.width < 48) small.push(el.outerHTML.slice(0, 80) + ' ' + r.width + 'x' + r.height);
        }
        for (const el of document.querySelectorAll('main p, main li, main h2, main h3, main button, main a, main small, .k-bar a, .k-bar button, input:not([type=hidden])')) {
          const size = parseFloat(getComputedStyle(el).fontSize);
          if (size < 20) tiny.push(el.tagName + ' ' + size + ' ' + el.textContent.slice(0, 20));
        }
        return {small, tiny, overflow: document.documentElement.scrollWidth - window.innerWidth};
    "#;
    let v: Value = c.execute(js, vec![]).await.unwrap();
    assert_eq!(v["small"], serde_json::json!([]), "{what}: touch targets under 48 px");
    assert_eq!(v["tiny"], serde_json::json!([]), "{what}: text under 20 px");
    assert!(
        v["overflow"].as_f64().unwrap() <= 0.0,
        "{what}: wider than the window: {v}"
    );
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_taps_through_the_kiosk_takes_a_ticket_home_and_the_screen_clears_itself() {
    let dir = crate::support::shipped_site();
    let toml = dir.path().join("bot.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("kiosk_idle_seconds = 180", "kiosk_idle_seconds = 10");
    std::fs::write(&toml, text).unwrap();
    let assistant = Arc::new(Assistant::start(Config::load(&toml).unwrap()).unwrap());
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let desk = Arc::new(Desk::new(assistant, store.clone()));
    // The week so far: three people chose the pets entry, two the hotline.
    for (chat, id) in [
        ("a", "trav-pets"),
        ("b", "trav-pets"),
        ("c", "trav-pets"),
        ("a", "svc-hotline"),
        ("d", "svc-hotline"),
    ] {
        desk.choose(&Chat::new(Channel::Telegram, chat), id, false)
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(customs_bot::web::serve(desk, listener, async move {
        let _ = stopped.await;
    }));
    let profile = tempfile::tempdir().unwrap();
    let touch = serde_json::json!({"mobileEmulation": {"deviceMetrics": {"width": 1080, "height": 1920, "pixelRatio": 1.0, "touch": true}}});
    let (_driver, c) = browser_with(profile.path(), touch).await;
    let size: Value = c
        .execute(
            "return [window.innerWidth, window.innerHeight, navigator.maxTouchPoints]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(size[0], 1080, "{size}");
    assert!(size[2].as_u64().unwrap() > 0, "a touch screen: {size}");

    // Home: the tiles and the entries most asked this week.
    c.goto(&format!("{base}/kiosk")).await.unwrap();
    let popular = wait_text(&c, ".k-popular", "本周大家常问").await;
    assert!(
        popular.find("携带宠物猫狗入境").unwrap() < popular.find("海关服务热线").unwrap(),
        "most asked first: {popular}"
    );
    assert_eq!(c.find_all(Locator::Css("a.k-tile")).await.unwrap().len(), 8);
    check_layout(&c, "home").await;
    shot(&c, "kiosk-home.png").await;

    // A category, an entry, a section, a related entry.
    tap(&c, "a.k-tile", "个人物品与邮递").await;
    wait_text(&c, "main h2", "个人物品与邮递").await;
    check_layout(&c, "category").await;
    shot(&c, "kiosk-category.png").await;
    tap(&c, "main button", "携带宠物猫狗入境").await;
    wait_text(&c, "main h2", "携带宠物猫狗入境").await;
    assert_eq!(path(&c).await, "/kiosk/e/trav-pets");
    let panel = wait_text(&c, ".k-panel", "犬或猫").await;
    assert!(!panel.contains("检疫证书"), "one section at a time: {panel}");
    check_layout(&c, "entry").await;
    shot(&c, "kiosk-entry.png").await;
    let history = || async { c.execute("return history.length", vec![]).await.unwrap() };
    let before = history().await;
    tap(&c, ".k-tabs a", "所需材料").await;
    let panel = wait_text(&c, ".k-panel", "检疫证书").await;
    assert!(!panel.contains("犬或猫"), "{panel}");
    assert_eq!(
        c.find(Locator::Css(".k-tabs a[aria-current=page]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "所需材料"
    );
    assert_eq!(
        history().await,
        before,
        "a tab replaces the page: no steps back through it"
    );
    tap(&c, ".k-related button", "携带、邮寄动植物及其产品进境的检疫").await;
    wait_text(&c, "main h2", "携带、邮寄动植物及其产品进境的检疫").await;
    let log = store.recent_questions(2).unwrap();
    assert_eq!(log[0].question, "[选择] 携带、邮寄动植物及其产品进境的检疫");
    assert_eq!(log[1].question, "[选择] 携带宠物猫狗入境");

    // Ask a person: the note starts from what was chosen; the ticket's page as a QR code.
    tap(&c, ".k-bar a", "找人工").await;
    wait_text(&c, "main h2", "找人工").await;
    let note = c
        .find(Locator::Css("textarea"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(note.contains("携带、邮寄动植物及其产品进境的检疫"), "{note}");
    c.find(Locator::Css("textarea"))
        .await
        .unwrap()
        .send_keys("我的猫能一起带回来吗")
        .await
        .unwrap();
    check_layout(&c, "ask a person").await;
    tap(&c, "main button", "登记并显示二维码").await;
    let ticket = wait_text(&c, ".k-ticket", "已登记为工单").await;
    assert!(ticket.contains("T000001"), "{ticket}");
    check_layout(&c, "hand-off").await;
    let png = shot(&c, "kiosk-handoff.png").await;
    let url = decode_png(&png);
    let key = store.ticket(1).unwrap().unwrap().access_key;
    assert_eq!(url, format!("{base}/ticket/T000001?key={key}"));
    let chat = crate::web::chat_of(&format!(
        "cb_chat={}",
        c.get_named_cookie("cb_chat").await.unwrap().value()
    ));
    let since = chrono::Utc::now() - chrono::Duration::minutes(30);
    assert!(store.conversation("web", &chat, since).unwrap().is_some());

    // Left alone, the screen clears itself: a clean home, the conversation forgotten.
    tokio::time::sleep(Duration::from_secs(9)).await;
    for _ in 0..100 {
        if path(&c).await == "/kiosk" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(path(&c).await, "/kiosk");
    wait_text(&c, ".k-tiles", "常见问题").await;
    assert!(c.find(Locator::Css("svg")).await.is_err(), "no QR code left");
    assert!(
        store.conversation("web", &chat, since).unwrap().is_none(),
        "forgotten on the server"
    );
    tap(&c, ".k-bar a", "找人工").await;
    wait_text(&c, "main h2", "找人工").await;
    let note = c
        .find(Locator::Css("textarea"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note, "", "nothing of the last visitor");

    // A typed question and a follow-up; then 结束 at once.
    tap(&c, ".k-bar a", "首页").await;
    wait_text(&c, ".k-tiles", "常见问题").await;
    type_and_send(&c, "#k-q", "宠物狗入境需要什么手续").await;
    wait_text(&c, ".k-msg", "携带宠物猫狗入境").await;
    type_and_send(&c, "#k-q", "要什么材料").await;
    let follow = wait_text(&c, ".k-msg", "所需材料").await;
    assert!(
        follow.contains("携带宠物猫狗入境") && follow.contains("检疫证书"),
        "{follow}"
    );
    tap(&c, ".k-bar button", "结束").await;
    wait_text(&c, ".k-tiles", "常见问题").await;
    assert_eq!(path(&c).await, "/kiosk");

    // The ticket's page opens from the QR code's address.
    c.goto(&url).await.unwrap();
    let page = wait_text(&c, "main", "我的猫能一起带回来吗").await;
    assert!(page.contains("工作人员还在处理"), "{page}");
    c.close().await.unwrap();

    // Landscape, and the portrait screen at 200 % zoom (half as many CSS pixels).
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser_with(profile.path(), serde_json::json!({})).await;
    for (w, h, name) in [(1920, 1080, Some("kiosk-landscape.png")), (540, 960, None)] {
        c.set_window_size(w, h).await.unwrap();
        for page in ["/kiosk", "/kiosk/c/personal", "/kiosk/e/trav-pets?s=1", "/kiosk/person"] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            wait_text(&c, ".k-bar", "结束").await;
            check_layout(&c, &format!("{page} at {w}×{h}")).await;
            if page == "/kiosk"
                && let Some(name) = name
            {
                shot(&c, name).await;
            }
        }
    }
    c.close().await.unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
