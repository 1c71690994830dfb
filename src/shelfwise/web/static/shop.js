// Shelfwise Market: autocomplete, click events, the user switcher and the admin's live bits.
// Plain JavaScript, no libraries; every page works without it, it only makes them quicker to use.
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }

  // The API knows this browser by its signed session cookie (no key is ever put in a page); a write
  // carries the page's CSRF token.
  function apiHeaders() {
    return { "content-type": "application/json", "x-csrf-token": meta("shelfwise-csrf") };
  }

  // Events the page itself cannot see on the server: clicks on a product from a list.
  function postEvent(event) {
    var userId = meta("shelfwise-user");
    var sessionId = meta("shelfwise-session");
    if (!userId && !sessionId) return;
    if (userId) event.user_id = userId;
    if (sessionId) event.session_id = sessionId;
    try {
      fetch("/v1/events", {
        method: "POST", headers: apiHeaders(), body: JSON.stringify(event), keepalive: true, credentials: "same-origin"
      });
    } catch (error) { /* an event lost is better than a click lost */ }
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("[data-track-click]") : null;
    if (!link) return;
    var event = { event_type: "click", product_id: link.getAttribute("data-track-click") };
    var requestId = link.getAttribute("data-request-id");
    if (requestId) event.request_id = requestId;
    postEvent(event);
  });

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // On a phone the filters start folded so that the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    document.querySelectorAll(".facet-toggle").forEach(function (d) { d.removeAttribute("open"); });
  }

  // Autocomplete --------------------------------------------------------------------------------
  var input = document.getElementById("search-input");
  var list = document.getElementById("suggestions");
  if (input && list) {
    var timer = null, active = -1, latest = 0;

    function close() {
      list.hidden = true; list.innerHTML = ""; active = -1;
      input.setAttribute("aria-expanded", "false");
    }

    function choose(text) {
      input.value = text; close(); input.form.submit();
    }

    function highlight(text, typed) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      var at = text.toLowerCase().indexOf(typed.toLowerCase());
      if (typed && at >= 0) {
        li.appendChild(document.createTextNode(text.slice(0, at)));
        var mark = document.createElement("mark");
        mark.textContent = text.slice(at, at + typed.length);
        li.appendChild(mark);
        li.appendChild(document.createTextNode(text.slice(at + typed.length)));
      } else {
        li.textContent = text;
      }
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(text); });
      return li;
    }

    function show(items, typed) {
      list.innerHTML = "";
      active = -1;
      if (!items.length) { close(); return; }
      items.forEach(function (text, i) {
        var li = highlight(text, typed);
        li.id = "suggestion-" + i;
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function move(step) {
      var options = list.querySelectorAll("li");
      if (!options.length) return;
      if (active >= 0) options[active].setAttribute("aria-selected", "false");
      active = (active + step + options.length) % options.length;
      options[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[active].id);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var typed = input.value.trim();
      if (typed.length < 2) { close(); return; }
      timer = setTimeout(function () {
        var ticket = ++latest;
        // GET /v1/suggest answers a list of strings: popular past queries, then product titles.
        fetch("/v1/suggest?n=8&q=" + encodeURIComponent(typed), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (suggestions) { if (ticket === latest) show(suggestions, typed); })
          .catch(close);
      }, 120);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }  // not the search box's own clearing
      else if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        choose(list.querySelectorAll("li")[active].textContent);
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  // Admin: retraining progress --------------------------------------------------------------------
  var training = document.querySelector("[data-training]");
  if (training) {
    var form = training.querySelector("[data-train-form]");
    var box = training.querySelector("[data-progress]");
    var bar = box.querySelector(".progress-bar span");
    var text = box.querySelector(".progress-text");
    var button = form.querySelector("button");

    function render(status) {
      training.setAttribute("data-state", status.state);
      box.hidden = status.state === "idle";
      bar.style.width = Math.round(status.progress * 100) + "%";
      text.textContent = status.message + (status.state === "running" ? " (" + status.elapsed_seconds + " s)" : "");
      button.disabled = status.state === "running";
    }

    function poll() {
      fetch("/admin/models/train/status", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (status) {
          render(status);
          if (status.state === "running") setTimeout(poll, 700);
          else if (status.state === "done") setTimeout(function () { window.location.reload(); }, 900);
        });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      fetch(form.action, { method: "POST", body: body, headers: { accept: "application/json", "x-csrf-token": meta("shelfwise-csrf") }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (status) { render(status); poll(); });
    });
    if (training.getAttribute("data-state") === "running") poll();
  }
})();
