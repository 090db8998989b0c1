// Folio admin: progressive enhancements. Everything works without JS; this adds select-all and the
// "N selected" counter, slug-from-title, the live slug check, the Markdown live preview (rendered by
// the server), the author autocomplete and collapsing filters on phones. No inline scripts (CSP).
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function csrfToken(form) {
    var input = (form || document).querySelector('input[name="_csrf"]');
    return input ? input.value : "";
  }

  // ---- change list: select all, counter, row highlight
  function initChangeList() {
    var form = document.getElementById("changelist-form");
    if (!form) return;
    var toggle = document.getElementById("action-toggle");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input.action-select"));
    var counter = form.querySelector(".selected-count");
    function update() {
      var n = 0;
      boxes.forEach(function (b) {
        if (b.checked) n++;
        var tr = b.closest("tr");
        if (tr) tr.classList.toggle("selected", b.checked);
      });
      if (counter) counter.textContent = String(n);
      if (toggle) {
        toggle.checked = n > 0 && n === boxes.length;
        toggle.indeterminate = n > 0 && n < boxes.length;
      }
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (toggle) toggle.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = toggle.checked; });
      update();
    });
    update();
  }

  // ---- prepopulated fields: slug from title while the slug has not been edited by hand
  function initPrepopulate() {
    document.querySelectorAll("[data-prepopulate-from]").forEach(function (slug) {
      var srcId = slug.getAttribute("data-prepopulate-from");
      var src = srcId && document.getElementById(srcId);
      if (!src) return;
      var touched = slug.value !== "";
      slug.addEventListener("input", function () { touched = slug.value !== ""; });
      src.addEventListener("input", function () {
        if (touched) return;
        slug.value = slugify(src.value);
        slug.dispatchEvent(new Event("slugchange"));
      });
    });
  }

  function slugify(s) {
    return s
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/&/g, " and ")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 250)
      .replace(/-+$/, "");
  }

  // ---- live slug uniqueness check (per publish date)
  function initSlugCheck() {
    var slug = document.querySelector("[data-slug-check]");
    if (!slug) return;
    var status = document.getElementById(slug.id + "_status");
    var publish = document.getElementById("id_publish");
    var check = debounce(function () {
      if (!slug.value) { status.textContent = ""; status.className = "slug-status"; return; }
      var q = new URLSearchParams({ slug: slug.value });
      if (publish && publish.value) q.set("publish", publish.value);
      var id = slug.getAttribute("data-object-id");
      if (id) q.set("id", id);
      fetch(slug.getAttribute("data-slug-check") + "?" + q.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          status.textContent = data.message;
          status.className = "slug-status " + (data.ok ? "ok" : "taken");
        })
        .catch(function () {});
    }, 300);
    ["input", "slugchange"].forEach(function (ev) { slug.addEventListener(ev, check); });
    if (publish) publish.addEventListener("change", check);
  }

  // ---- Markdown live preview: POST to the admin preview endpoint (with the CSRF token)
  function initPreview() {
    document.querySelectorAll(".markdown-editor").forEach(function (ed) {
      var src = ed.querySelector(".md-source");
      var out = ed.querySelector(".md-preview");
      var url = ed.getAttribute("data-preview-url");
      var form = ed.closest("form");
      var seq = 0;
      function render() {
        var mine = ++seq;
        var body = new URLSearchParams({ body: src.value, _csrf: csrfToken(form) });
        fetch(url, { method: "POST", body: body, headers: { Accept: "application/json", "X-CSRF-Token": csrfToken(form) }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (data && mine === seq) out.innerHTML = data.html; // server-sanitised HTML (sanitize-html allow-list)
          })
          .catch(function () {});
      }
      src.addEventListener("input", debounce(render, 250));
      ed.querySelectorAll("[data-md-tab]").forEach(function (tab) {
        tab.addEventListener("click", function () {
          ed.querySelectorAll("[data-md-tab]").forEach(function (t) { t.classList.toggle("active", t === tab); });
          ed.classList.toggle("show-preview", tab.getAttribute("data-md-tab") === "preview");
          if (tab.getAttribute("data-md-tab") === "preview") render();
        });
      });
      render();
    });
  }

  // ---- author autocomplete: search box fills the raw id field
  function initAutocomplete() {
    document.querySelectorAll(".fk-picker").forEach(function (picker) {
      var idInput = picker.querySelector(".fk-id");
      var search = picker.querySelector(".fk-search");
      var list = picker.querySelector(".fk-results");
      var label = picker.querySelector(".fk-label");
      var url = picker.getAttribute("data-autocomplete-url");
      var lookup = debounce(function () {
        var q = new URLSearchParams(url.split("?")[1] || "");
        q.set("term", search.value);
        fetch(url.split("?")[0] + "?" + q.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (data) {
            list.textContent = "";
            data.results.forEach(function (item) {
              var li = document.createElement("li");
              li.setAttribute("role", "option");
              li.textContent = item.text + (item.name ? " — " + item.name : "");
              li.addEventListener("mousedown", function (e) {
                e.preventDefault();
                idInput.value = String(item.id);
                search.value = item.text;
                label.textContent = item.text + " (id " + item.id + ")";
                list.hidden = true;
              });
              list.appendChild(li);
            });
            list.hidden = data.results.length === 0;
          })
          .catch(function () {});
      }, 200);
      search.addEventListener("input", lookup);
      search.addEventListener("focus", lookup);
      search.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 150); });
    });
  }

  // ---- filters collapse on phones
  function initFilters() {
    var d = document.querySelector(".filter-details");
    if (d && window.matchMedia("(max-width: 1000px)").matches) d.open = false;
    var nav = document.querySelector(".admin-nav-details");
    if (nav && window.matchMedia("(max-width: 760px)").matches && !document.body.classList.contains("dashboard")) nav.open = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    initChangeList();
    initPrepopulate();
    initSlugCheck();
    initPreview();
    initAutocomplete();
    initFilters();
  });
})();
