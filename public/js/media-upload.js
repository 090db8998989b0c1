// Image upload forms outside the editor: the media library's (/admin/media/) and the profile page's
// avatar (/accounts/profile/). A form marked data-media-upload posts to the upload endpoint
// (media:upload) with the chosen file and the session's CSRF token in the X-CSRF-Token header (a
// multipart body's fields are not read before the CSRF check). On success (201 { id, ... }):
//   data-detail-url="/admin/media/0/"  opens that page for the new image (its id in place of the 0);
//   data-then-set="<selector>"         puts the id in that form's input[name=avatar_id] and submits it.
// A refusal's message (problem+json `errors.file` or `detail`) is shown in the form's [role=status].
(function () {
  "use strict";

  function messageOf(body, res) {
    if (body && body.errors && body.errors.file) return String(body.errors.file);
    if (body && body.detail) return String(body.detail);
    return "The upload failed (" + res.status + "). Try again.";
  }

  function enhance(form) {
    var status = form.querySelector("[role=status]");
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("button[type=submit]");
    var token = form.querySelector("input[name=_csrf]");
    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("is-error", !!isError);
    }
    function done(id) {
      var detail = form.getAttribute("data-detail-url");
      var then = form.getAttribute("data-then-set");
      if (detail) return window.location.assign(detail.replace(/\/0\/$/, "/" + id + "/"));
      var next = then && document.querySelector(then);
      if (!next) return say("Uploaded.");
      next.querySelector("input[name=avatar_id]").value = String(id);
      next.submit();
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
              say("Uploaded. Saving…");
              done(body.id);
            });
        })
        .catch(function (err) {
          say(err && err.message ? err.message : "The upload failed. Try again.", true);
          button.disabled = false;
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-media-upload]"), enhance);
})();
