(function () {
  // What a reviewer checks by hand: names, focus, contrast, text alternatives, no request.
  function rgb(text) {
    var m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) { return null; }
    var p = m[1].split(",").map(function (x) { return parseFloat(x); });
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function luminance(c) {
    var f = function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(el) {
    while (el && el.nodeType === 1) {
      var c = rgb(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0) { return c; }
      el = el.parentElement;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  }
  var low = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    var node = walker.currentNode;
    var el = node.parentElement;
    if (!node.data.trim() || !el || el.closest("svg, iframe, [hidden]") || !el.getClientRects().length) { continue; }
    var style = getComputedStyle(el);
    var fg = rgb(style.color), bg = background(el);
    var l1 = luminance(fg), l2 = luminance(bg);
    var ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    var size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    var needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed && low.length < 20) { low.push({ text: node.data.trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100 }); }
  }
  var focusable = Array.prototype.slice.call(document.querySelectorAll("a[href], summary, iframe, button, [tabindex]"))
    .filter(function (e) { return e.tabIndex >= 0; });
  var unnamed = [], unfocused = [];
  focusable.forEach(function (e) {
    var name = (e.getAttribute("aria-label") || e.getAttribute("title") || e.textContent || "").trim();
    if (!name) { unnamed.push(e.outerHTML.slice(0, 80)); }
    e.focus();
    if (document.activeElement !== e) { unfocused.push(e.outerHTML.slice(0, 80)); }
  });
  var svgs = Array.prototype.slice.call(document.querySelectorAll("svg")).map(function (s) {
    var ids = (s.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    return { role: s.getAttribute("role"), labels: ids.map(function (id) { var t = document.getElementById(id); return t ? t.textContent : null; }) };
  });
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    lang: document.documentElement.lang,
    h1: document.querySelectorAll("h1").length,
    lowContrast: low,
    focusable: focusable.length,
    first: focusable.length ? focusable[0].getAttribute("href") : null,
    unnamed: unnamed,
    unfocused: unfocused,
    positiveTabindex: document.querySelectorAll("[tabindex]:not([tabindex='-1']):not([tabindex='0'])").length,
    svgs: svgs,
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; })
  });
  document.body.appendChild(out);
})();
