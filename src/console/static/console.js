// Progressive enhancement for the support-access console. Every page works without
// this script; with it, times read in the browser's zone, the host Check runs in
// place, the approve summary follows the form, and the reject reason counts down.
"use strict";

(function () {
  var lang = document.documentElement.lang || "en-us";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  function localTime(date) {
    return new Intl.DateTimeFormat(lang, {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    }).format(date);
  }

  // Instants: rendered in UTC by the server, restated in the browser's zone.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (!isNaN(date)) {
      el.title = el.textContent;
      el.textContent = localTime(date);
    }
  });
  document.querySelectorAll("[data-tz]").forEach(function (el) { el.textContent = zone; });
  document.querySelectorAll("[data-tz-field]").forEach(function (el) { el.value = zone; });

  // datetime-local values are wall-clock time in the browser's zone.
  function toLocalInput(date) {
    function pad(n) { return String(n).padStart(2, "0"); }
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  // The approve form: default window, its maximum, the summary, and Check.
  var form = document.getElementById("approve");
  if (form) {
    var start = document.getElementById("effective");
    var end = document.getElementById("expire");
    var now = new Date();
    if (!start.value) {
      var requestedStart = Number(start.dataset.defaultMs);
      start.value = toLocalInput(requestedStart > now.getTime() ? new Date(requestedStart) : now);
    }
    if (!end.value) {
      var requestedEnd = Number(end.dataset.defaultMs);
      var fallback = new Date(new Date(start.value).getTime() + 24 * 3600 * 1000);
      end.value = toLocalInput(requestedEnd > now.getTime() ? new Date(requestedEnd) : fallback);
    }
    var maxHours = Number(end.dataset.maxHours) || 720;
    var windowLine = form.querySelector("[data-summary-window]");

    function update() {
      var from = new Date(start.value), to = new Date(end.value);
      start.min = toLocalInput(new Date(Date.now() - 60 * 1000));
      if (!isNaN(from)) {
        end.min = start.value;
        end.max = toLocalInput(new Date(from.getTime() + maxHours * 3600 * 1000));
      }
      if (!isNaN(from) && !isNaN(to)) {
        var hours = Math.round((to - from) / 360000) / 10;
        windowLine.textContent = localTime(from) + " – " + localTime(to) + " (" + hours + " h)";
        end.setCustomValidity(to <= from || hours > maxHours ? document.getElementById("window-hint").textContent : "");
      }
      form.querySelectorAll("fieldset[data-detail]").forEach(function (fs) {
        var account = fs.querySelector("input[name^=account_]").value;
        var line = form.querySelector("[data-summary-for='" + fs.dataset.detail + "'] [data-summary-account]");
        if (line) { line.textContent = account || "…"; }
      });
    }
    form.addEventListener("input", update);
    update();

    var csrf = form.querySelector("input[name=csrf]").value;
    var group = form.querySelector("input[name=group]");
    form.querySelectorAll("button[data-check]").forEach(function (button) {
      button.addEventListener("click", function () {
        var fs = button.closest("fieldset");
        var out = fs.querySelector("output");
        var body = new URLSearchParams();
        body.set("port", fs.querySelector("input[name^=port_]").value);
        body.set("account", fs.querySelector("input[name^=account_]").value);
        body.set("password", fs.querySelector("input[name^=password_]").value);
        if (group) { body.set("group", group.value); }
        var label = button.textContent;
        button.disabled = true;
        button.textContent = button.dataset.checking;
        out.className = "check-result";
        out.textContent = "";
        fetch(fs.dataset.checkUrl, {
          method: "POST",
          headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
          body: body,
          credentials: "same-origin"
        }).then(function (r) { return r.json(); }).then(function (answer) {
          out.className = "check-result " + (answer.ok ? "ok" : "bad");
          out.textContent = answer.message;
        }).catch(function (e) {
          out.className = "check-result bad";
          out.textContent = String(e);
        }).finally(function () {
          button.disabled = false;
          button.textContent = label;
        });
      });
    });
  }

  // Counters for limited text areas.
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var area = document.getElementById(counter.dataset.counterFor);
    var count = counter.querySelector("span");
    function left() { count.textContent = String(area.maxLength - area.value.length); }
    area.addEventListener("input", left);
    left();
  });

  // Session pages: the recording plays in the page, a live session streams into the
  // player over the console's WebSocket (asciinema-player, loaded on these pages only).
  // Pauses longer than 2 s play as 2 s: a reviewer skims idle time.
  if (window.AsciinemaPlayer) {
    var cast = document.getElementById("recording-player");
    if (cast) {
      window.AsciinemaPlayer.create(cast.dataset.cast, cast, { fit: "width", idleTimeLimit: 2 });
    }
    var live = document.getElementById("live-player");
    if (live) {
      var url = new URL(live.dataset.live, window.location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      window.AsciinemaPlayer.create({ driver: "websocket", url: url.toString() }, live, { fit: "width", autoPlay: true });
    }
  }

  // A session being terminated: the page looks again until the broker has cut it.
  if (document.querySelector("#session-state[data-ending]")) {
    window.setTimeout(function () { window.location.reload(); }, 1000);
  }
})();
