// The profile page's avatar upload (views/accounts/profile.njk): sends the chosen image to the upload
// endpoint (media:upload) with the session's CSRF token in the X-CSRF-Token header (a multipart body's
// fields are not read before the CSRF check), then submits the new image's id with the plain
// "set avatar" form (POST /accounts/profile/avatar/), which saves it and comes back to the profile.
(function () {
  "use strict";
  var form = document.querySelector("form[data-avatar-upload]");
  var setForm = document.querySelector("form[data-avatar-set]");
  if (!form || !setForm) return;
  var status = form.querySelector(".avatar-status");
  var input = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");
  var token = form.querySelector("input[name=_csrf]");

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("is-error", !!isError);
  }

  function messageOf(body, res) {
    if (body && body.errors && body.errors.file) return String(body.errors.file);
    if (body && body.detail) return String(body.detail);
    return "The upload failed (" + res.status + "). Try again.";
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!input.files || !input.files.length) return say("Choose an image first.", true);
    var data = new FormData();
    data.append("file", input.files[0]);
    button.disabled = true;
    say("Uploading…");
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
            say("Saving…");
            setForm.querySelector("input[name=avatar_id]").value = String(body.id);
            setForm.submit();
          });
      })
      .catch(function (err) {
        say(err && err.message ? err.message : "The upload failed. Try again.", true);
        button.disabled = false;
      });
  });
})();
