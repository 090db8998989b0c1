// Folio's post editor script (admin change form and the author's editor; forms marked data-editor):
// nothing a writer types is lost.
//  - Autosave: a few seconds after typing stops, the form's fields go to the server (POST /autosave/,
//    the session's CSRF token in X-CSRF-Token) into the writer's autosave slot for the post. Not a
//    revision: readers see nothing. "Autosaved at 14:03:12" under the form says it happened.
//  - A newer autosave is offered when the form opens (the server decides; the page carries it).
//  - Save: before the form goes, the session is checked (GET /autosave/session/). Signed out (the
//    session expired)? A sign-in dialog, as WordPress shows: sign in there (or in a new tab), and the
//    form is then sent with the new session's token, the text as typed. Signed in but the page's
//    token is stale (signed in again elsewhere)? The token is refreshed, then the form goes.
//  - The body's limit is checked before sending (the server checks it too and keeps the text).
//  - Leaving with unsaved changes asks first (beforeunload); saving does not ask.
// Without JavaScript the forms work as before; a refused save still comes back with the text.
// No inline scripts (CSP): data comes from data-* attributes and a JSON block.
(function () {
  "use strict";

  var AUTOSAVE_DELAY = 3000; // ms after the last keystroke
  var AUTOSAVE_MAX_WAIT = 30000; // ms: while typing goes on without a pause, still this often

  function serialize(form) {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string") return;
      if (name === "_csrf" || name === "_version" || name === "version") return;
      if (Object.prototype.hasOwnProperty.call(out, name)) {
        if (!Array.isArray(out[name])) out[name] = [out[name]];
        out[name].push(value);
      } else out[name] = value;
    });
    // multiple selects and checkboxes with nothing chosen are absent from FormData: say so
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || Object.prototype.hasOwnProperty.call(out, el.name)) return;
      if (el.tagName === "SELECT" && el.multiple) out[el.name] = [];
      else if (el.type === "checkbox") out[el.name] = "";
    });
    return out;
  }

  function setToken(form, token) {
    form.querySelectorAll('input[name="_csrf"]').forEach(function (i) {
      i.value = token;
    });
  }

  function tokenOf(form) {
    var i = form.querySelector('input[name="_csrf"]');
    return i ? i.value : "";
  }

  function timeNow() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  /** Fills the form's fields from { name: value | [values] } (an autosave). */
  function fill(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var value = fields[name];
      var els = form.querySelectorAll('[name="' + (window.CSS && CSS.escape ? CSS.escape(name) : name) + '"]');
      els.forEach(function (el) {
        if (el.tagName === "SELECT" && el.multiple) {
          var list = Array.isArray(value) ? value : [value];
          Array.prototype.forEach.call(el.options, function (o) {
            o.selected = list.indexOf(o.value) !== -1;
          });
        } else if (el.type === "checkbox" && el.hasAttribute("data-checked-by-value")) {
          // one of several checkboxes of a name (the tag field's tag ids): ticked if its value was
          el.checked = (Array.isArray(value) ? value : [value]).indexOf(el.value) !== -1;
        } else if (el.type === "checkbox") {
          el.checked = value !== "" && value !== undefined;
        } else if (el.type !== "hidden" && el.type !== "submit" && el.type !== "button") {
          el.value = Array.isArray(value) ? value[0] || "" : value;
        }
        el.dispatchEvent(new Event("input", { bubbles: true }));
        el.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  function readJson(res) {
    return res.json().catch(function () {
      return null;
    });
  }

  function Editor(form) {
    this.form = form;
    this.autosaveUrl = form.getAttribute("data-autosave-url");
    this.sessionUrl = form.getAttribute("data-session-url");
    this.loginUrl = form.getAttribute("data-login-url");
    this.userId = form.getAttribute("data-user-id");
    this.postId = form.getAttribute("data-post-id");
    this.baseVersion = form.getAttribute("data-base-version");
    this.status = form.querySelector("[data-autosave-status]");
    // said in the row of Save buttons (the admin keeps it in view at the bottom of the window)
    var actions = form.querySelector(".submit-row, .form-actions");
    if (this.status && actions) actions.insertBefore(this.status, actions.firstChild);
    this.initial = JSON.stringify(serialize(form));
    this.lastAutosaved = this.initial;
    // A form shown again after a refused save (errors, conflict, expired session) holds unsaved text.
    this.unsavedOnLoad =
      form.hasAttribute("data-unsaved") || !!document.querySelector(".errornote:not(.insecure-transport), .form-errors:not(.insecure-transport), .conflict");
    this.verified = false;
    this.submitting = false;
    this.timer = null;
    this.dialog = null;
    this.init();
  }

  Editor.prototype.dirty = function () {
    return this.unsavedOnLoad || JSON.stringify(serialize(this.form)) !== this.initial;
  };

  Editor.prototype.say = function (text, kind) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.className = "autosave-status" + (kind ? " autosave-status--" + kind : "");
  };

  Editor.prototype.init = function () {
    var self = this;
    var form = this.form;
    form.addEventListener("input", function () {
      self.schedule();
    });
    form.addEventListener("change", function () {
      self.schedule();
    });
    form.addEventListener("submit", function (e) {
      self.onSubmit(e);
    });
    window.addEventListener("beforeunload", function (e) {
      if (self.submitting || !self.dirty()) return;
      e.preventDefault();
      e.returnValue = ""; // the browser shows its own "Leave site? Changes you made may not be saved."
    });
    this.initOffer();
    this.initLimits();
  };

  // ---- the offer of a newer autosave
  Editor.prototype.initOffer = function () {
    var self = this;
    var offer = document.querySelector("[data-autosave-offer]");
    if (!offer) return;
    var data = offer.querySelector("[data-autosave-fields]");
    var fields;
    try {
      fields = JSON.parse(data.textContent);
    } catch (e) {
      return;
    }
    offer.hidden = false;
    offer.querySelector("[data-autosave-restore]").addEventListener("click", function () {
      fill(self.form, fields);
      // Saved against the version the autosave was made from: if the post was saved since, the
      // server answers with its conflict page (theirs and yours side by side), never a silent overwrite.
      var base = offer.getAttribute("data-base-version");
      if (base)
        self.form.querySelectorAll('input[name="_version"], input[name="version"]').forEach(function (i) {
          i.value = base;
        });
      offer.hidden = true;
      self.say("The autosave was restored into the form. Save to keep it.", "info");
    });
    offer.querySelector("[data-autosave-dismiss]").addEventListener("click", function () {
      offer.hidden = true;
    });
  };

  // ---- limits (the figure the server enforces, from data-maxchars or maxlength)
  Editor.prototype.initLimits = function () {
    var self = this;
    // maxlength silently cuts a paste short (the rest of the text is gone): the script counts instead
    // and stops the Save with a message, the figure unchanged.
    this.form.querySelectorAll("input[maxlength], textarea[maxlength]").forEach(function (el) {
      if (el.type !== "text" && el.tagName !== "TEXTAREA") return;
      el.setAttribute("data-maxchars", el.getAttribute("maxlength"));
      el.removeAttribute("maxlength");
    });
    this.form.querySelectorAll("input[data-maxchars], textarea[data-maxchars]").forEach(function (ta) {
      var max = Number(ta.getAttribute("data-maxchars"));
      var note = document.createElement("p");
      note.className = "char-count";
      note.setAttribute("aria-live", "polite");
      ta.insertAdjacentElement("afterend", note);
      function update() {
        var n = ta.value.length;
        var over = n > max;
        // shown once the text is past 90% of the limit
        note.textContent =
          n > max * 0.9
            ? n.toLocaleString("en-US") +
              " of " +
              max.toLocaleString("en-US") +
              " characters" +
              (over ? ": " + (n - max).toLocaleString("en-US") + " too many" : "")
            : "";
        note.classList.toggle("char-count--over", over);
      }
      ta.addEventListener("input", update);
      update();
      self.limits = (self.limits || []).concat([{ el: ta, max: max, note: note }]);
    });
  };

  Editor.prototype.overLimit = function () {
    var over = (this.limits || []).filter(function (l) {
      return l.el.value.length > l.max;
    })[0];
    if (!over) return false;
    over.note.textContent =
      "This text has " +
      over.el.value.length.toLocaleString("en-US") +
      " characters; at most " +
      over.max.toLocaleString("en-US") +
      " can be saved. Shorten it, then save: nothing was sent.";
    over.note.classList.add("char-count--over");
    over.el.focus();
    return true;
  };

  // ---- autosave
  Editor.prototype.schedule = function () {
    var self = this;
    if (this.submitting || !this.autosaveUrl) return;
    clearTimeout(this.timer);
    if (!this.typingSince) this.typingSince = Date.now();
    var wait = Date.now() - this.typingSince >= AUTOSAVE_MAX_WAIT ? 0 : AUTOSAVE_DELAY;
    this.timer = setTimeout(function () {
      self.typingSince = 0;
      self.autosave(false);
    }, wait);
  };

  Editor.prototype.autosave = function (retried) {
    var self = this;
    if (this.submitting) return Promise.resolve();
    var fields = serialize(this.form);
    var snapshot = JSON.stringify(fields);
    if (snapshot === this.lastAutosaved) return Promise.resolve();
    var payload = {
      post: this.postId ? Number(this.postId) : null,
      baseVersion: this.baseVersion ? Number(this.baseVersion) : null,
      fields: fields,
    };
    return fetch(this.autosaveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": tokenOf(this.form) },
      body: JSON.stringify(payload),
    })
      .then(function (res) {
        if (res.ok) {
          self.lastAutosaved = snapshot;
          self.say("Autosaved at " + timeNow() + " (not published; press Save to save the post).", "ok");
          return;
        }
        if (res.status === 403 && !retried) {
          // signed out, or a stale token (signed in again elsewhere): find out which
          return self.checkSession().then(function (s) {
            if (s && s.signedIn) {
              setToken(self.form, s.csrfToken);
              return self.autosave(true);
            }
            self.say("You have been signed out, so your text is not being autosaved. It is still here: press Save to sign in again and save it.", "warn");
          });
        }
        return readJson(res).then(function (p) {
          self.say("Not autosaved: " + ((p && p.detail) || "the server refused it (" + res.status + ").") + " Your text is still here.", "warn");
        });
      })
      .catch(function () {
        self.say("Not autosaved: the site cannot be reached right now. Your text is still here.", "warn");
      });
  };

  // ---- save: check the session first
  Editor.prototype.checkSession = function () {
    return fetch(this.sessionUrl, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .catch(function () {
        return null;
      });
  };

  Editor.prototype.onSubmit = function (e) {
    var self = this;
    if (this.verified) {
      this.submitting = true;
      clearTimeout(this.timer);
      return;
    }
    e.preventDefault();
    if (this.checking || this.overLimit()) return; // one Save at a time (a double click sends once)
    var submitter = e.submitter || null;
    this.checking = true;
    this.say("Checking your session…", "info");
    this.checkSession().then(function (s) {
      self.checking = false;
      if (!s) {
        self.say("The site cannot be reached right now, so nothing was sent. Your text is still here: try Save again in a moment.", "warn");
        return;
      }
      if (s.signedIn && (!self.userId || String(s.userId) === self.userId)) return self.send(s.csrfToken, submitter);
      self.openSignIn(s, submitter);
    });
  };

  Editor.prototype.send = function (token, submitter) {
    setToken(this.form, token);
    this.say("Saving…", "info");
    this.verified = true;
    if (this.form.requestSubmit) this.form.requestSubmit(submitter && submitter.form === this.form ? submitter : undefined);
    else {
      this.submitting = true;
      this.form.submit();
    }
  };

  // ---- the sign-in dialog (WordPress's "Your session has expired")
  Editor.prototype.openSignIn = function (session, submitter) {
    var self = this;
    var d = this.dialog || this.buildDialog();
    this.pending = { submitter: submitter, token: session.csrfToken };
    d.querySelector("[data-signin-other]").textContent = session.signedIn
      ? "This browser is now signed in as " + session.username + ", not as the account that opened this form. Sign in as that account to save."
      : "";
    d.querySelector("[data-signin-error]").textContent = "";
    this.say("Your session has expired. Sign in again to save: your text is kept.", "warn");
    if (!d.open) d.showModal();
    d.querySelector('input[name="username"]').focus();
  };

  Editor.prototype.buildDialog = function () {
    var self = this;
    var d = document.createElement("dialog");
    d.className = "signin-dialog";
    d.setAttribute("aria-labelledby", "signin-dialog-title");
    d.innerHTML =
      '<form method="dialog" class="signin-form" novalidate>' +
      '<h2 id="signin-dialog-title">Your session has expired</h2>' +
      "<p>Please sign in again to save your changes. Your text stays in the form: nothing is lost.</p>" +
      '<p class="signin-other" data-signin-other></p>' +
      '<p class="signin-error" role="alert" data-signin-error></p>' +
      '<p><label for="signin-username">Username or e-mail</label><input id="signin-username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required></p>' +
      '<p><label for="signin-password">Password</label><input id="signin-password" name="password" type="password" autocomplete="current-password" required></p>' +
      '<p class="signin-actions"><button type="submit" class="button button-primary button--primary" data-signin-submit>Sign in and save</button> ' +
      '<button type="button" class="button" data-signin-cancel>Not now</button></p>' +
      '<p class="signin-tab">Or <a target="_blank" rel="noopener" data-signin-tab>sign in in a new tab</a>, then come back and <button type="button" class="link-button" data-signin-retry>save</button>.</p>' +
      "</form>";
    document.body.appendChild(d);
    d.querySelector("[data-signin-tab]").href = this.loginUrl;
    d.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      self.signIn();
    });
    d.querySelector("[data-signin-cancel]").addEventListener("click", function () {
      d.close();
      self.say("Not saved yet: your text is still here. Press Save when you are ready to sign in.", "warn");
    });
    d.querySelector("[data-signin-retry]").addEventListener("click", function () {
      self.afterSignIn();
    });
    this.dialog = d;
    return d;
  };

  Editor.prototype.signIn = function (retried) {
    var self = this;
    var d = this.dialog;
    var err = d.querySelector("[data-signin-error]");
    var button = d.querySelector("[data-signin-submit]");
    var body = new URLSearchParams({
      _csrf: this.pending.token,
      username: d.querySelector('input[name="username"]').value,
      password: d.querySelector('input[name="password"]').value,
    });
    err.textContent = "";
    button.disabled = true;
    // redirect "manual": a successful login answers 303 (an opaque redirect here); a refused one 400 with the form
    fetch(this.loginUrl, { method: "POST", body: body, credentials: "same-origin", redirect: "manual", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) return self.afterSignIn();
        if (res.status === 403 && !retried) {
          // the dialog's token went stale (a sign-in in another tab): take the session's current one
          return self.checkSession().then(function (s) {
            if (s && s.signedIn && (!self.userId || String(s.userId) === self.userId)) return self.afterSignIn();
            if (s) self.pending.token = s.csrfToken;
            return self.signIn(true);
          });
        }
        return res.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var msg = doc.querySelector(".form-errors, .field-error, main h1 + p");
          err.textContent =
            res.status === 429
              ? "Too many sign-in attempts. " + (msg ? msg.textContent.trim() : "Try again later.")
              : msg
                ? msg.textContent.trim()
                : "Signing in failed (" + res.status + ").";
        });
      })
      .catch(function () {
        err.textContent = "The site cannot be reached right now. Your text is still here; try again in a moment.";
      })
      .finally(function () {
        button.disabled = false;
      });
  };

  Editor.prototype.afterSignIn = function () {
    var self = this;
    var d = this.dialog;
    return this.checkSession().then(function (s) {
      var err = d.querySelector("[data-signin-error]");
      if (!s) {
        err.textContent = "The site cannot be reached right now. Your text is still here; try again in a moment.";
        return;
      }
      if (!s.signedIn) {
        self.pending.token = s.csrfToken;
        err.textContent = "You are not signed in yet: sign in above (or in the other tab) first.";
        return;
      }
      if (self.userId && String(s.userId) !== self.userId) {
        self.openSignIn(s, self.pending.submitter);
        return;
      }
      d.querySelector('input[name="password"]').value = "";
      if (d.open) d.close();
      self.send(s.csrfToken, self.pending.submitter);
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-editor]").forEach(function (form) {
      new Editor(form);
    });
  });
})();
