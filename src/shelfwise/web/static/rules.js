// Merchandising rules editor: lists, creates, edits and deletes rules through /v1/rules, and shows the
// first results of a query with the rules applied. The admin's session cookie authorises the writes,
// which carry the page's CSRF token.
(function () {
  "use strict";
  var app = document.querySelector("[data-rules-app]");
  if (!app) return;
  var form = app.querySelector("[data-rule-form]");
  var table = document.querySelector("[data-rules-table] tbody");
  var preview = app.querySelector("[data-preview]");
  var previewForm = app.querySelector("[data-preview-form]");
  var openShop = app.querySelector("[data-open-shop]");
  var rules = [];
  var LISTS = ["product_ids", "brands", "categories"];
  var csrfMeta = document.querySelector('meta[name="shelfwise-csrf"]');
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function split(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function clearErrors() {
    form.querySelectorAll("[data-error]").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".has-error").forEach(function (f) { f.classList.remove("has-error"); });
  }

  function showError(field, message) {
    var slot = form.querySelector('[data-error="' + field + '"]') || form.querySelector('[data-error="_form"]');
    slot.textContent = message;
    slot.hidden = false;
    var input = form.querySelector('[name="' + field + '"]');
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.closest(".field").classList.add("has-error");
    }
  }

  function showProblems(body) {
    var error = body.error;  // {code, message, details (one line per problem, for an invalid rule)}
    var problems = error.details && error.details.length ? error.details : [error.message];
    problems.forEach(function (problem) {
      var text = String(problem);
      var field = "_form";
      var named = text.split(":")[0].trim();
      if (form.querySelector('[name="' + named + '"]')) field = named;
      else LISTS.concat(["query", "position", "amount", "when_category"]).forEach(function (name) {
        if (field === "_form" && text.indexOf(name) >= 0) field = name;
      });
      if (field === "_form" && /target/.test(text)) field = "product_ids";
      showError(field, text.replace(/^Value error, /, ""));
    });
  }

  function ruleFromForm() {
    var data = new FormData(form);
    var rule = { action: data.get("action"), match: data.get("match") };
    ["rule_id", "query", "when_category", "note"].forEach(function (name) {
      var value = String(data.get(name) || "").trim();
      if (value) rule[name] = value;
    });
    LISTS.forEach(function (name) { rule[name] = split(String(data.get(name) || "")); });
    rule.position = parseInt(data.get("position"), 10) || 1;
    rule.amount = parseFloat(data.get("amount")) || 1;
    return rule;
  }

  function edit(rule) {
    clearErrors();
    form.elements.rule_id.value = rule.rule_id;
    ["action", "query", "match", "when_category", "note"].forEach(function (name) {
      form.elements[name].value = rule[name] || "";  // query, when_category and note may be null
    });
    LISTS.forEach(function (name) { form.elements[name].value = rule[name].join(", "); });
    form.elements.position.value = rule.position;
    form.elements.amount.value = rule.amount;
    app.querySelector("[data-form-title]").textContent = "Edit rule " + rule.rule_id;
    app.querySelector("[data-cancel]").hidden = false;
    form.scrollIntoView({ behavior: "smooth" });
  }

  function reset() {
    form.reset();
    form.elements.rule_id.value = "";
    app.querySelector("[data-form-title]").textContent = "New rule";
    app.querySelector("[data-cancel]").hidden = true;
    clearErrors();
  }

  function describeTargets(rule) {
    var parts = [];
    if (rule.product_ids.length) parts.push("products " + rule.product_ids.join(", "));
    if (rule.brands.length) parts.push("brands " + rule.brands.join(", "));
    if (rule.categories.length) parts.push("categories " + rule.categories.join(", "));
    return parts.join("; ");
  }

  function renderRules() {
    table.innerHTML = "";
    if (!rules.length) {
      var empty = el("tr");
      var cell = el("td", "No rules yet.", "muted");
      cell.colSpan = 6;
      empty.appendChild(cell);
      table.appendChild(empty);
      return;
    }
    rules.forEach(function (rule) {
      var row = el("tr");
      row.setAttribute("data-rule", rule.rule_id);
      var action = el("td");
      action.appendChild(el("span", rule.action, "pill " + ({ pin: "info", boost: "good", bury: "bad", filter: "meh" }[rule.action] || "")));
      row.appendChild(action);
      var when = rule.query ? "“" + rule.query + "”" + (rule.match === "contains" ? " (contains)" : "") : "every query";
      if (rule.when_category) when += " in " + rule.when_category;
      row.appendChild(el("td", when));
      row.appendChild(el("td", describeTargets(rule)));
      row.appendChild(el("td", rule.action === "pin" ? "position " + rule.position : rule.action === "filter" ? "–" : "× " + rule.amount, "num"));
      row.appendChild(el("td", rule.note || "", "muted"));
      var buttons = el("td");
      var editButton = el("button", "Edit", "button small");
      editButton.type = "button";
      editButton.addEventListener("click", function () { edit(rule); });
      var deleteButton = el("button", "Delete", "link-button");
      deleteButton.type = "button";
      deleteButton.addEventListener("click", function () { remove(rule); });
      buttons.appendChild(editButton);
      buttons.appendChild(deleteButton);
      row.appendChild(buttons);
      table.appendChild(row);
    });
  }

  function load() {
    return fetch("/v1/rules", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) { rules = body; renderRules(); });  // GET /v1/rules: a list of rules
  }

  function remove(rule) {
    if (!window.confirm("Delete this " + rule.action + " rule?")) return;
    fetch("/v1/rules/" + encodeURIComponent(rule.rule_id), { method: "DELETE", credentials: "same-origin", headers: { "x-csrf-token": CSRF } })
      .then(function () { return load(); })
      .then(showPreview);
  }

  function targeted(product) {
    return rules.filter(function (rule) {
      return rule.product_ids.indexOf(product.product_id) >= 0 ||
        rule.brands.map(function (b) { return b.toLowerCase(); }).indexOf((product.brand || "").toLowerCase()) >= 0;
    }).map(function (rule) { return rule.action; });
  }

  function showPreview() {
    var q = previewForm.elements.q.value.trim();
    openShop.href = "/search?q=" + encodeURIComponent(q);
    if (!q) return;
    fetch("/v1/search?page_size=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (result) {
        preview.innerHTML = "";
        result.hits.forEach(function (hit) {
          var item = el("li");
          var marks = targeted(hit.product);
          item.appendChild(el("span", hit.product.title + " ", marks.length ? "pinned" : ""));
          item.appendChild(el("span", hit.product.product_id, "muted mono"));
          marks.forEach(function (action) { item.appendChild(document.createTextNode(" ")); item.appendChild(el("span", action, "pill info")); });
          preview.appendChild(item);
        });
        if (!preview.children.length) preview.appendChild(el("li", "No results.", "muted"));
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearErrors();
    var rule = ruleFromForm();
    fetch("/v1/rules", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": CSRF }, body: JSON.stringify(rule)
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { showProblems(body); return; }
        if (rule.query) previewForm.elements.q.value = rule.query;
        reset();
        return load().then(showPreview);
      });
    });
  });
  app.querySelector("[data-cancel]").addEventListener("click", reset);
  previewForm.addEventListener("submit", function (e) { e.preventDefault(); showPreview(); });
  load().then(showPreview);
})();
