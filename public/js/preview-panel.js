// The editor's preview panel (views/previews/_panel.njk): "Make a preview link", "New link" and "Revoke"
// POST to their URL with the CSRF token (X-CSRF-Token) and update the panel in place, so the writer
// stays in the editor with their unsaved text; "Copy" copies the link (or selects it for Ctrl+C).
(function () {
  "use strict";
  var panel = document.querySelector("[data-preview-panel]");
  if (!panel) return;
  var on = panel.querySelector("[data-share-on]");
  var off = panel.querySelector("[data-share-off]");
  var input = panel.querySelector("#preview-share-link");
  var expires = panel.querySelector("[data-share-expires]");
  var status = panel.querySelector("[data-share-status]");
  var say = function (text) {
    if (status) status.textContent = text;
  };
  panel.querySelectorAll("[data-share-js], [data-copy]").forEach(function (el) {
    el.hidden = false;
  });

  panel.addEventListener("click", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    var copy = target && target.closest("button[data-copy]");
    if (copy && input) {
      input.focus();
      input.select();
      if (navigator.clipboard && window.isSecureContext)
        navigator.clipboard.writeText(input.value).then(
          function () {
            say("Link copied.");
          },
          function () {
            say("Press Ctrl+C (or ⌘+C) to copy the selected link.");
          },
        );
      else say("Press Ctrl+C (or ⌘+C) to copy the selected link.");
      return;
    }
    var button = target && target.closest("button[data-share-post]");
    if (!button) return;
    e.preventDefault();
    button.disabled = true;
    fetch(button.getAttribute("data-share-post"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": panel.getAttribute("data-csrf") },
    })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.detail || "The link could not be changed (" + res.status + ").");
          return body;
        });
      })
      .then(function (body) {
        if (body.shareUrl) {
          input.value = body.shareUrl;
          if (expires) expires.textContent = body.expires;
          on.hidden = false;
          off.hidden = true;
          say("New preview link made. Earlier links no longer work.");
        } else {
          input.value = "";
          on.hidden = true;
          off.hidden = false;
          say("Preview links revoked: no link works any more.");
        }
      })
      .catch(function (err) {
        say(err.message || "The link could not be changed. Try again.");
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
