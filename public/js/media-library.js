// The media library's upload form (/admin/media/): sends the chosen image to the upload endpoint with
// the session's CSRF token in the X-CSRF-Token header (a multipart body's fields are not read before
// the CSRF check), then opens the new image's page so its alt text can be written at once. Refusals
// (type, size, pixels) are shown next to the form.
(function () {
  "use strict";
  var form = document.querySelector("form[data-media-upload]");
  if (!form) return;
  var status = form.querySelector(".media-upload-status");
  var button = form.querySelector("button[type=submit]");
  var input = form.querySelector("input[type=file]");
  var token = form.querySelector("input[name=_csrf]");

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("is-error", !!isError);
  }

  function messageOf(body, res) {
    if (body && typeof body === "object") {
      var fields = body.errors || body.fields;
      if (fields && typeof fields === "object") {
        var first = Object.keys(fields)[0];
        if (first) return String(fields[first]);
      }
      if (body.detail) return String(body.detail);
      if (body.message) return String(body.message);
      if (body.error) return String(body.error);
    }
    return "The upload failed (" + res.status + "). Try again.";
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!input.files || !input.files.length) return say("Choose an image first.", true);
    var data = new FormData();
    data.append("file", input.files[0]);
    button.disabled = true;
    say("Uploading " + input.files[0].name + "…");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token ? token.value : "", Accept: "application/json" },
    })
      .then(function (res) {
        return res
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            if (!res.ok || !body || typeof body.id !== "number") throw new Error(messageOf(body, res));
            say("Uploaded. Opening it…");
            window.location.assign(form.getAttribute("data-detail-url").replace(/\/0\/$/, "/" + body.id + "/"));
          });
      })
      .catch(function (err) {
        say(err && err.message ? err.message : "The upload failed. Try again.", true);
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
