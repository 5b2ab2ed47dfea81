//! The kiosk's stylesheet and its one small script, served from this server (the hall's network may
//! have no internet). Sizes are in `rem`/`em` so the browser's zoom scales everything and lines wrap;
//! touch targets are at least 64 px at the default size (48 px is the floor), body text 24 px, dark
//! text on white and white on dark blue (contrast above 7:1); nothing depends on hover.

pub const STYLE: &str = r#"
html{font-size:24px}
body.kiosk{font-size:1rem;line-height:1.55;background:#ffffff;color:#111111}
.k-bar{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;padding:.4rem .6rem;background:#0a3a66;color:#ffffff}
.k-bar h1{flex:1 1 8em;margin:0 .4rem;font-size:1.15rem;line-height:1.3}
.k-bar a,.k-bar button{display:inline-flex;align-items:center;justify-content:center;min-height:2.8rem;min-width:2.8rem;padding:0 .8rem;border:2px solid #ffffff;border-radius:.4rem;background:#0a3a66;color:#ffffff;font:inherit;font-weight:bold;text-decoration:none;cursor:pointer}
.k-bar .k-person{background:#ffd24a;border-color:#ffd24a;color:#111111}
.k-bar .k-end{background:#ffffff;color:#8a1010;border-color:#ffffff}
.k-bar form{margin:0}
form.k-ask{display:flex;gap:.4rem;padding:.5rem .6rem;background:#e8eef5;border-bottom:2px solid #0a3a66}
form.k-ask input{flex:1;min-width:0;min-height:2.8rem;font:inherit;padding:0 .6rem;border:2px solid #333333;border-radius:.4rem;background:#ffffff;color:#111111}
.k-main{max-width:60rem;margin:0 auto;padding:.6rem .8rem 3rem}
.k-main h2{font-size:1.3rem;margin:.6rem 0 .5rem;line-height:1.35}
.k-main h3{font-size:1.1rem;margin:1rem 0 .4rem}
.k-btn,form.k-ask button,.k-main button{display:flex;align-items:center;min-height:2.8rem;min-width:2.8rem;padding:.4rem .9rem;border:2px solid #0a3a66;border-radius:.5rem;background:#ffffff;color:#0a3a66;font:inherit;font-weight:bold;text-align:left;text-decoration:none;cursor:pointer}
form.k-ask button,.k-main .k-primary{background:#0a3a66;color:#ffffff}
.k-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,13rem),1fr));gap:.6rem;margin:.4rem 0 1rem}
.k-tile{display:flex;flex-direction:column;justify-content:center;min-height:6rem;padding:.6rem .8rem;border-radius:.6rem;background:#0a3a66;color:#ffffff;text-decoration:none;font-size:1.2rem;font-weight:bold;line-height:1.3}
.k-tile small{font-size:.85rem;font-weight:normal;margin-top:.3rem}
.k-list{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));gap:.5rem;margin:.4rem 0 1rem;padding:0;list-style:none}
.k-list form,.k-list li{margin:0}
.k-list button,.k-list .k-btn{width:100%;min-height:3.2rem}
.k-tabs{display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0 .6rem;padding:0;list-style:none}
.k-tabs a{display:flex;align-items:center;min-height:2.8rem;padding:0 .9rem;border:2px solid #0a3a66;border-radius:.5rem;color:#0a3a66;background:#ffffff;font-weight:bold;text-decoration:none}
.k-tabs a[aria-current=page]{background:#0a3a66;color:#ffffff}
.k-panel,.k-msg{padding:.6rem .9rem;border:2px solid #c9d3de;border-radius:.6rem;background:#ffffff;overflow-wrap:anywhere}
.k-panel ul,.k-msg ul{padding-left:1.3em}
.k-note{color:#333333;font-size:.85rem}
.k-qr{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:.6rem 0}
.k-qr svg{width:min(14rem,80vw);height:auto;border:.4rem solid #ffffff;outline:2px solid #333333}
.k-ticket{font-size:1.3rem;font-weight:bold}
textarea.k-text{display:block;width:100%;min-height:6rem;font:inherit;padding:.4rem .6rem;border:2px solid #333333;border-radius:.4rem}
.k-error{color:#8a1010;font-weight:bold}
"#;

/// The idle reset: after `data-idle` seconds without a touch, key or scroll, the page posts 结束
/// (the server forgets the conversation and starts a new one) and the browser lands on a clean home.
/// Links within the kiosk replace the current page instead of adding to the history, so the next
/// person cannot step back through the last one's pages.
pub const SCRIPT: &str = r#"
(function () {
  var root = document.getElementById('kiosk');
  var end = document.getElementById('k-end');
  if (!root || !end) return;
  var idle = parseInt(root.getAttribute('data-idle'), 10) * 1000, timer;
  function arm() {
    clearTimeout(timer);
    timer = setTimeout(function () { end.submit(); }, idle);
  }
  ['pointerdown', 'touchstart', 'click', 'keydown', 'input', 'scroll'].forEach(function (ev) {
    document.addEventListener(ev, arm, {passive: true, capture: true});
  });
  arm();
  document.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a[href^="/kiosk"]') : null;
    if (!a || e.defaultPrevented) return;
    e.preventDefault();
    location.replace(a.getAttribute('href'));
  });
})();
"#;
