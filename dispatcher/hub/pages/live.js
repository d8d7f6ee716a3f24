(function () {
  "use strict";
  var page = JSON.parse(document.getElementById("page").textContent);
  var main = document.getElementById("main");
  var conn = document.getElementById("conn");
  var soundButton = document.getElementById("sound");
  var lastCall = page.call, polling = null, socket = null, retry = 1000, gone = false;
  var audio = null;
  var MODES = {
    live: ["实时更新", "Live updates"],
    poll: ["每 " + page.every + " 秒刷新", "Refreshing every " + page.every + " s"],
    off: ["网络中断，正在重试", "Connection lost, retrying"]
  };

  function mode(name) {
    var t = MODES[name];
    conn.setAttribute("data-mode", name);
    conn.innerHTML = '<span class="zh">' + t[0] + '</span><span class="en">' + t[1] + "</span>";
  }
  function beep() {
    if (!audio) return;
    var t = audio.currentTime;
    [0, 0.4, 0.8].forEach(function (d) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, t + d);
      g.gain.exponentialRampToValueAtTime(0.5, t + d + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + d + 0.3);
      o.connect(g); g.connect(audio.destination);
      o.start(t + d); o.stop(t + d + 0.32);
    });
  }
  function called() {
    if (navigator.vibrate) { try { navigator.vibrate([400, 200, 400, 200, 400]); } catch (e) {} }
    beep();
  }
  function show(data) {
    if (data.type === "not_found") { gone = true; location.reload(); return; }
    main.innerHTML = data.html;
    if (data.title) document.title = data.title;
    if (data.call && data.call !== lastCall) called();
    lastCall = data.call;
  }
  function poll() {
    fetch(page.poll, { cache: "no-store" }).then(function (r) {
      if (r.status === 404) return { type: "not_found" };
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (data) {
      show(data);
      if (!socket) mode("poll");
    }).catch(function () { mode("off"); });
  }
  function startPolling() { if (!polling) polling = setInterval(poll, page.every * 1000); }
  function stopPolling() { if (polling) { clearInterval(polling); polling = null; } }
  function connect() {
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") +
                         location.host + page.live);
    } catch (e) { startPolling(); mode("poll"); return; }
    ws.onopen = function () { socket = ws; retry = 1000; stopPolling(); mode("live"); };
    ws.onmessage = function (e) { show(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      socket = null;
      if (gone) return;
      if (e.code === 4404) { show({ type: "not_found" }); return; }
      startPolling(); poll();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }
  if (soundButton) {
    soundButton.addEventListener("click", function () {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) { audio = new Ctx(); audio.resume(); beep(); }
      if (navigator.vibrate) { try { navigator.vibrate(60); } catch (e) {} }
      soundButton.hidden = true;
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();   // a phone may have slept with the socket
  });
  if (window.WebSocket) { connect(); } else { startPolling(); mode("poll"); }
})();
