//! The web front's HTML, CSS and script: server-rendered, no frameworks, no build step, nothing
//! fetched from the internet. HTML is written with maud, which escapes every dynamic piece unless
//! it is wrapped in `PreEscaped` (only the bodies `reply` renders, already escaped, are).

use maud::{DOCTYPE, Markup, html};

/// The page frame. `kiosk` adds the touchscreen's stylesheet (large type and targets).
pub fn page(title: &str, kiosk: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/static/style.css";
                @if kiosk { link rel="stylesheet" href="/static/kiosk.css"; }
            }
            body class=(if kiosk { "kiosk" } else { "" }) { (body) }
        }
    }
}

/// Text whose line breaks show as `<br>`, every line escaped.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.split('\n').enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// The chat page (public side).
pub fn chat(office_name: &str, hotline: &str) -> Markup {
    let body = html! {
        header {
            h1 { (office_name) "咨询助手" }
            nav { a href="/browse" { "按类别浏览" } }
        }
        main #chat aria-live="polite" {
            div.msg.bot {
                p {
                    "您好！请直接输入问题，例如「知识产权海关保护备案怎么办」「滞报金怎么算」。"
                    "我按海关公开的办事指南和法律规定回答并注明依据；拿不准的会请您联系人工（海关服务热线 "
                    (hotline) "）。"
                }
            }
        }
        form #ask autocomplete="off" {
            label.sr for="q" { "您的问题" }
            input #q name="q" maxlength="500" placeholder="请输入您的问题" required;
            button type="submit" { "提问" }
        }
        script src="/static/chat.js" {}
    };
    page(&format!("{office_name}咨询助手"), false, body)
}

pub const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;font-size:16px;line-height:1.6;color:#1b2733;background:#f4f6f8}
header{background:#0b4f8a;color:#fff;padding:.6em 1em;display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap}
header h1{font-size:1.2em;margin:0}
header a{color:#fff}
main{max-width:46em;margin:0 auto;padding:1em 1em 6em}
.msg{margin:.6em 0;padding:.6em .9em;border-radius:.6em;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.msg.me{background:#dbeafe;margin-left:15%}
.msg h2{font-size:1.1em;margin:.2em 0 .4em}
.basis,.updated{color:#55606b;font-size:.9em;margin:.3em 0}
.choices button,.feedback button,form button,.ops button{min-height:44px;min-width:44px;padding:.4em 1em;margin:.25em .3em .25em 0;border:1px solid #0b4f8a;border-radius:.4em;background:#fff;color:#0b4f8a;font-size:1em;cursor:pointer}
.choices button{display:block;width:100%;text-align:left}
form#ask{position:fixed;bottom:0;left:0;right:0;display:flex;gap:.5em;padding:.6em;background:#fff;border-top:1px solid #d0d7de}
form#ask input{flex:1;min-height:44px;font-size:1em;padding:.4em .6em;border:1px solid #9aa5b1;border-radius:.4em}
form#ask button{background:#0b4f8a;color:#fff}
.ticket{border-left:4px solid #d97706;padding-left:.6em}
.sr{position:absolute;left:-9999px}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border-bottom:1px solid #e1e5ea;padding:.4em;text-align:left;vertical-align:top}
.overdue{color:#b91c1c;font-weight:bold}
.ops textarea,.ops input,.ops select{font-size:1em;padding:.3em;min-height:40px;width:100%;max-width:40em}
.ops form.period select{width:auto}
nav form.inline{display:inline}
figure.chart{margin:1em 0;background:#fff;padding:.3em}
table.numbers td,table.numbers th{white-space:nowrap;font-size:.9em}
.why{color:#b45309;font-size:.9em}
.problems{color:#b91c1c;white-space:pre-wrap}
"#;

pub const SCRIPT: &str = r#"
(function () {
  var chat = document.getElementById('chat');
  var form = document.getElementById('ask');
  var input = document.getElementById('q');
  if (!chat || !form) return;
  function add(cls, html) {
    var div = document.createElement('div');
    div.className = 'msg ' + cls;
    div.innerHTML = html;
    chat.appendChild(div);
    window.scrollTo(0, document.body.scrollHeight);
    return div;
  }
  function text(s) { var d = document.createElement('div'); d.textContent = s; return d.innerHTML; }
  function post(url, body) {
    return fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
      .then(function (r) { return r.json(); })
      .catch(function () { return {html: '<p>网络不太稳定，请稍后再试。</p>'}; });
  }
  function show(r) {
    var div = add('bot', r.html || '');
    if (r.choices && r.choices.length) {
      var box = document.createElement('div');
      box.className = 'choices';
      r.choices.forEach(function (c) {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = c.title;
        b.onclick = function () { post('/chat/pick', {id: c.id}).then(show); };
        box.appendChild(b);
      });
      div.appendChild(box);
    }
    if (r.ref) {
      var fb = document.createElement('div');
      fb.className = 'feedback';
      [['有帮助', true], ['没帮助', false]].forEach(function (p) {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = p[0];
        b.onclick = function () {
          fb.querySelectorAll('button').forEach(function (x) { x.disabled = true; });
          post('/chat/feedback', {ref: r.ref, helpful: p[1]}).then(function (f) { if (f.html) add('bot', f.html); });
        };
        fb.appendChild(b);
      });
      div.appendChild(fb);
    }
    if (r.not_this) {
      var way = document.createElement('div');
      way.className = 'choices';
      var n = document.createElement('button');
      n.type = 'button';
      n.textContent = '不是这个？';
      n.onclick = function () { n.disabled = true; ask('不是这个'); };
      way.appendChild(n);
      div.appendChild(way);
    }
  }
  function ask(q) {
    add('me', text(q));
    post('/chat/ask', {question: q}).then(show);
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var q = input.value.trim();
    if (!q) return;
    input.value = '';
    ask(q);
  });
})();
"#;
