// The writers' editor (views/studio/editor.njk): what JavaScript adds to the post form. Without it the
// form works and saves as is; editor.js (autosave, the session check before a save) runs beside this.
//  - Live preview: the Markdown goes to the server's preview (the admin's preview endpoint, which renders
//    what a save stores) a moment after typing stops; a failed preview leaves the text and the last
//    preview as they were and says so. Side by side on wide screens; Write / Preview on a phone.
//  - Word count and reading time, as the server counts them (the preview's answer).
//  - Images in the body: "Insert image", drag and drop, paste. Each is uploaded (multipart `file`, the
//    CSRF token in X-CSRF-Token) while an "Uploading…" placeholder holds its place in the text; the
//    image's Markdown replaces it, or it is removed and the refusal shown.
//  - The featured image picker: the library in a dialog (search, more), upload, remove.
//  - Focus mode (hides the admin's chrome and the side panel; Esc leaves) and the keyboard shortcuts:
//    Ctrl/Cmd+S saves (Save, keeps editing), Ctrl/Cmd+Shift+P the preview, Ctrl/Cmd+Shift+F focus mode.
// No inline scripts (CSP): data comes from data-* attributes.
(function () {
  "use strict";

  var PREVIEW_DELAY = 600; // ms after the last keystroke
  var WIDE = window.matchMedia("(min-width: 1000px)");

  function debounce(fn, ms) {
    var t;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  function csrfToken(form) {
    var input = form && form.querySelector('input[name="_csrf"]');
    return input ? input.value : "";
  }

  function readJson(res) {
    return res.json().catch(function () {
      return null;
    });
  }

  /** The message of a refused request: the server's (JSON message / detail / title) or its status. */
  function refusal(res, data) {
    var said = data && (data.message || data.detail || data.title);
    if (said) return said;
    if (res.status === 403) return "your session may have ended: sign in again (Save asks you to)";
    if (res.status === 413) return "the file is too large";
    return "the server answered " + res.status;
  }

  /** Uploads one image; resolves { ok, data } or { ok: false, message }. */
  function uploadImage(url, file, form) {
    var body = new FormData();
    body.append("file", file, file.name || "image");
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken(form) },
    })
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (res.ok && data && data.url) return { ok: true, data: data };
          return { ok: false, message: refusal(res, data) };
        });
      })
      .catch(function () {
        return { ok: false, message: "the site cannot be reached right now" };
      });
  }

  function imageFiles(list) {
    return Array.prototype.filter.call(list || [], function (f) {
      return f && /^image\//.test(f.type);
    });
  }

  function changed(el) {
    el.dispatchEvent(new Event("input", { bubbles: true })); // the autosave and the preview see it
  }

  // ------------------------------------------------------------------ the Markdown field
  function MarkdownField(ed) {
    this.ed = ed;
    this.src = ed.querySelector(".md-source");
    this.out = ed.querySelector(".md-preview");
    this.count = ed.querySelector("[data-md-count]");
    this.status = ed.querySelector("[data-md-status]");
    this.form = ed.closest("form");
    this.url = ed.getAttribute("data-preview-url");
    this.uploadUrl = ed.getAttribute("data-upload-url");
    this.seq = 0;
    this.uploads = 0;
    this.show = { write: true, preview: WIDE.matches };
    this.init();
  }

  MarkdownField.prototype.init = function () {
    var self = this;
    this.src.addEventListener(
      "input",
      debounce(function () {
        self.render();
      }, PREVIEW_DELAY),
    );
    this.ed.querySelectorAll("[data-md-tab]").forEach(function (tab) {
      tab.addEventListener("click", function () {
        self.toggle(tab.getAttribute("data-md-tab"));
      });
    });
    WIDE.addEventListener("change", function () {
      // a phone turned or a window resized: side by side when there is room, else the text
      self.show = { write: true, preview: WIDE.matches };
      self.layout();
    });
    this.layout();
    this.render();
    if (this.uploadUrl) this.initUploads();
  };

  /** Which panes show: on a phone one at a time; wide, either or both (never none). */
  MarkdownField.prototype.toggle = function (pane) {
    var other = pane === "write" ? "preview" : "write";
    if (!WIDE.matches) {
      this.show[pane] = true;
      this.show[other] = false;
    } else if (this.show[pane] && this.show[other]) this.show[pane] = false;
    else if (this.show[pane]) this.show[other] = true;
    else this.show[pane] = true;
    this.layout();
    if (pane === "preview") this.render(); // shown fresh
    if (!this.show.write) this.out.focus({ preventScroll: true });
  };

  MarkdownField.prototype.togglePreview = function () {
    if (WIDE.matches) this.toggle("preview");
    else this.toggle(this.show.preview ? "write" : "preview");
  };

  MarkdownField.prototype.layout = function () {
    var self = this;
    this.ed.classList.toggle("show-preview", this.show.preview);
    this.ed.classList.toggle("hide-write", !this.show.write);
    this.ed.classList.toggle("split", this.show.write && this.show.preview);
    this.ed.querySelectorAll("[data-md-tab]").forEach(function (t) {
      var on = self.show[t.getAttribute("data-md-tab")];
      t.classList.toggle("active", on);
      t.setAttribute("aria-pressed", on ? "true" : "false");
    });
    this.out.tabIndex = this.show.write ? -1 : 0;
  };

  MarkdownField.prototype.say = function (text, kind) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.className = "md-status" + (kind ? " md-status--" + kind : "");
  };

  MarkdownField.prototype.render = function () {
    var self = this;
    var mine = ++this.seq;
    var text = this.src.value;
    var token = csrfToken(this.form);
    return fetch(this.url, {
      method: "POST",
      body: new URLSearchParams({ body: text, _csrf: token }),
      headers: { Accept: "application/json", "X-CSRF-Token": token },
      credentials: "same-origin",
    })
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (mine !== self.seq) return;
          if (!res.ok || !data || typeof data.html !== "string") {
            self.say("Preview not updated: " + refusal(res, data) + ". Your text is safe.", "warn");
            return;
          }
          self.out.innerHTML = data.html; // sanitised by the server (the same HTML a save stores)
          self.out.classList.toggle("md-preview--empty", !text.trim());
          if (typeof data.wordCount === "number") self.counted(data.wordCount, data.readingMinutes);
          if (self.status && /Preview not updated/.test(self.status.textContent)) self.say("");
        });
      })
      .catch(function () {
        if (mine === self.seq) self.say("Preview not updated: the site cannot be reached right now. Your text is safe.", "warn");
      });
  };

  MarkdownField.prototype.counted = function (words, minutes) {
    if (!this.count) return;
    this.count.textContent = words.toLocaleString("en-US") + (words === 1 ? " word" : " words") + (words ? " · " + (minutes || 1) + " min read" : "");
  };

  // ---- images in the body
  MarkdownField.prototype.initUploads = function () {
    var self = this;
    var button = this.ed.querySelector("[data-md-insert-image]");
    var file = this.ed.querySelector("[data-md-file]");
    if (button && file) {
      button.hidden = false;
      button.addEventListener("click", function () {
        file.click();
      });
      file.addEventListener("change", function () {
        self.uploadAll(imageFiles(file.files));
        file.value = "";
        self.src.focus();
      });
    }
    this.src.addEventListener("dragover", function (e) {
      if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") === -1) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      self.ed.classList.add("dropping");
    });
    this.src.addEventListener("dragleave", function () {
      self.ed.classList.remove("dropping");
    });
    this.src.addEventListener("drop", function (e) {
      self.ed.classList.remove("dropping");
      var files = imageFiles(e.dataTransfer && e.dataTransfer.files);
      if (!files.length) return; // text dropped: the browser's own
      e.preventDefault();
      self.uploadAll(files);
    });
    this.src.addEventListener("paste", function (e) {
      var files = imageFiles(e.clipboardData && e.clipboardData.files);
      if (!files.length) return; // text pasted: the browser's own
      e.preventDefault();
      self.uploadAll(files);
    });
  };

  /** Puts `text` in place of the selection, on a line of its own, the cursor after it; returns what was inserted. */
  MarkdownField.prototype.insert = function (text) {
    var ta = this.src;
    var start = ta.selectionStart;
    var end = ta.selectionEnd;
    var before = ta.value.slice(0, start);
    // an image on a line of its own
    var lead = before && !/\n$/.test(before) ? "\n\n" : "";
    var trail = /^\n/.test(ta.value.slice(end)) ? "" : "\n";
    ta.setRangeText(lead + text + trail, start, end, "end");
    changed(ta);
    return lead + text + trail;
  };

  /** Replaces the first `from` in the text with `to` (keeping the writer's cursor); false when it is gone. */
  MarkdownField.prototype.replace = function (from, to) {
    var ta = this.src;
    var at = ta.value.indexOf(from);
    if (at === -1) return false;
    var s = ta.selectionStart;
    var e = ta.selectionEnd;
    var shift = function (p) {
      return p <= at ? p : p >= at + from.length ? p + to.length - from.length : at + to.length;
    };
    ta.setRangeText(to, at, at + from.length, "preserve");
    if (document.activeElement === ta) ta.setSelectionRange(shift(s), shift(e));
    changed(ta);
    return true;
  };

  MarkdownField.prototype.uploadAll = function (files) {
    var self = this;
    if (!files.length) return this.say("Only images can be inserted (JPEG, PNG, WebP, AVIF or GIF).", "warn");
    files.forEach(function (f) {
      var n = ++self.uploads;
      var name = (f.name || "image").replace(/[\[\]()\n]/g, " ");
      var placeholder = "![Uploading " + name + " (" + n + ")…]()";
      var inserted = self.insert(placeholder);
      self.say("Uploading " + name + "…", "info");
      uploadImage(self.uploadUrl, f, self.form).then(function (r) {
        if (r.ok) {
          var md = r.data.markdown || "![" + (r.data.alt || "") + "](" + r.data.url + ")";
          if (self.replace(placeholder, md))
            self.say("Inserted " + name + (r.data.alt ? "." : ": give it alt text in the media library before publishing."), "ok");
          else self.say("Uploaded " + name + ", but its placeholder was deleted from the text: insert it again from the library.", "warn");
        } else {
          // the placeholder goes with the line breaks that came with it
          if (!self.replace(inserted, "")) self.replace(placeholder, "");
          self.say("“" + name + "” was not uploaded: " + r.message + ".", "error");
        }
      });
    });
  };

  // ------------------------------------------------------------------ the featured image picker
  function ImagePicker(el) {
    this.el = el;
    this.form = el.closest("form");
    this.input = el.querySelector(".image-id");
    this.figure = el.querySelector(".image-chosen");
    this.thumb = el.querySelector("[data-image-thumb]");
    this.caption = el.querySelector("[data-image-caption]");
    this.empty = el.querySelector("[data-image-empty]");
    this.choicesUrl = el.getAttribute("data-choices-url");
    this.uploadUrl = el.getAttribute("data-upload-url");
    this.dialog = null;
    this.init();
  }

  ImagePicker.prototype.init = function () {
    var self = this;
    // the id field stays the form's field (and editor.js's autosave restores it), out of sight
    this.input.classList.add("visually-hidden");
    this.input.tabIndex = -1;
    this.input.setAttribute("aria-hidden", "true");
    var label = document.querySelector('label[for="' + this.input.id + '"]');
    var actions = document.createElement("div");
    actions.className = "image-actions";
    this.choose = this.button("Choose from library", function () {
      self.openLibrary();
    });
    actions.appendChild(this.choose);
    if (label) label.htmlFor = ""; // the buttons carry the names; the label heads the group
    if (this.uploadUrl) {
      this.file = document.createElement("input");
      this.file.type = "file";
      this.file.accept = "image/*";
      this.file.className = "visually-hidden";
      this.file.tabIndex = -1;
      this.file.setAttribute("aria-hidden", "true");
      this.file.addEventListener("change", function () {
        var f = imageFiles(self.file.files)[0];
        self.file.value = "";
        if (f) self.upload(f);
      });
      actions.appendChild(this.file);
      actions.appendChild(
        this.button("Upload new", function () {
          self.file.click();
        }),
      );
    }
    this.remove = this.button("Remove", function () {
      self.set(null);
      self.say("The featured image was removed (save to keep the change).");
      self.choose.focus();
    });
    actions.appendChild(this.remove);
    this.status = document.createElement("p");
    this.status.className = "image-status";
    this.status.setAttribute("role", "status");
    this.el.appendChild(actions);
    this.el.appendChild(this.status);
    // an autosave restored into the form (editor.js) sets the id: show what is known of it
    this.input.addEventListener("input", function (e) {
      if (e.isTrusted === false && self.input.value !== self.shownId) {
        self.set(self.input.value ? { id: self.input.value } : null, true);
        if (self.input.value) self.describe(self.input.value);
      }
    });
    this.shownId = this.input.value;
    this.sync();
  };

  ImagePicker.prototype.button = function (text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  };

  ImagePicker.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.status.className = "image-status" + (kind ? " image-status--" + kind : "");
  };

  ImagePicker.prototype.sync = function () {
    var has = !!this.input.value;
    this.figure.hidden = !has;
    if (this.empty) this.empty.hidden = has;
    this.remove.hidden = !has;
  };

  /** Sets the field to an image ({ id, thumbnail|url, alt, filename, width, height }) or none. */
  ImagePicker.prototype.set = function (img, quiet) {
    this.input.value = img ? String(img.id) : "";
    this.shownId = this.input.value;
    if (img) {
      var src = img.thumbnail || img.url;
      if (src) this.thumb.src = src;
      else this.thumb.removeAttribute("src");
      this.thumb.alt = img.alt || "";
      if (img.width) this.thumb.width = img.width;
      if (img.height) this.thumb.height = img.height;
      this.caption.textContent = img.filename || "Image " + img.id;
    }
    this.sync();
    if (!quiet) {
      changed(this.input);
      this.input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  };

  /** Fills in the thumbnail, alt and name of image `id` (the library by id); a gone image says so. */
  ImagePicker.prototype.describe = function (id) {
    var self = this;
    fetch(this.choicesUrl + "?" + new URLSearchParams({ id: id }).toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (self.input.value !== id) return; // chosen otherwise meanwhile
          var img = res.ok && data && data.results && data.results[0];
          if (img) self.set(img, true);
          else if (res.ok) self.say("Image " + id + " is no longer in the library: choose another.", "warn");
        });
      })
      .catch(function () {
        /* the id stays; its thumbnail shows after a save */
      });
  };

  ImagePicker.prototype.upload = function (f) {
    var self = this;
    this.say("Uploading " + f.name + "…", "info");
    uploadImage(this.uploadUrl, f, this.form).then(function (r) {
      if (r.ok) {
        self.set(r.data);
        self.say("Uploaded " + (r.data.filename || f.name) + " and chosen as the featured image.", "ok");
      } else self.say("“" + f.name + "” was not uploaded: " + r.message + ".", "error");
    });
  };

  ImagePicker.prototype.openLibrary = function () {
    var d = this.dialog || this.buildLibrary();
    if (!d.open) d.showModal();
    this.search.focus();
    this.load(true);
  };

  ImagePicker.prototype.buildLibrary = function () {
    var self = this;
    var d = document.createElement("dialog");
    d.className = "image-library";
    d.setAttribute("aria-labelledby", "image-library-title");
    d.innerHTML =
      '<div class="image-library-head"><h2 id="image-library-title">Choose a featured image</h2>' +
      '<button type="button" class="button" data-library-close>Close</button></div>' +
      '<p><label for="image-library-q">Search the library</label> <input type="search" id="image-library-q" autocomplete="off" placeholder="File name or alt text"></p>' +
      '<p class="image-library-status" role="status"></p>' +
      '<ul class="image-grid" aria-label="Images"></ul>' +
      '<p><button type="button" class="button" data-library-more hidden>Show more</button></p>';
    document.body.appendChild(d);
    this.search = d.querySelector("input");
    this.grid = d.querySelector(".image-grid");
    this.more = d.querySelector("[data-library-more]");
    this.libStatus = d.querySelector(".image-library-status");
    d.querySelector("[data-library-close]").addEventListener("click", function () {
      d.close();
    });
    d.addEventListener("close", function () {
      self.choose.focus();
    });
    this.search.addEventListener(
      "input",
      debounce(function () {
        self.load(true);
      }, 250),
    );
    this.more.addEventListener("click", function () {
      self.load(false);
    });
    this.dialog = d;
    return d;
  };

  ImagePicker.prototype.load = function (fresh) {
    var self = this;
    if (fresh) this.page = 1;
    else this.page += 1;
    var mine = (this.loadSeq = (this.loadSeq || 0) + 1);
    var q = new URLSearchParams({ q: this.search.value, page: String(this.page) });
    this.libStatus.textContent = "Loading…";
    fetch(this.choicesUrl + "?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (mine !== self.loadSeq) return;
          if (!res.ok || !data) {
            self.libStatus.textContent = "The library could not be loaded: " + refusal(res, data) + ".";
            return;
          }
          if (fresh) self.grid.textContent = "";
          data.results.forEach(function (img) {
            self.grid.appendChild(self.tile(img));
          });
          self.more.hidden = !data.hasMore;
          var n = self.grid.children.length;
          self.libStatus.textContent = n
            ? n + (n === 1 ? " image" : " images") + (self.search.value ? " found." : ".")
            : self.search.value
              ? "No image matches “" + self.search.value + "”."
              : "The library is empty: upload an image.";
        });
      })
      .catch(function () {
        if (mine === self.loadSeq) self.libStatus.textContent = "The site cannot be reached right now.";
      });
  };

  ImagePicker.prototype.tile = function (img) {
    var self = this;
    var li = document.createElement("li");
    var b = document.createElement("button");
    b.type = "button";
    b.className = "image-tile";
    var pic = document.createElement("img");
    pic.src = img.thumbnail;
    pic.alt = "";
    pic.loading = "lazy";
    pic.width = img.width;
    pic.height = img.height;
    var name = document.createElement("span");
    name.textContent = img.filename;
    b.setAttribute("aria-label", "Choose " + img.filename + (img.alt ? ": " + img.alt : " (no alt text)"));
    if (String(img.id) === this.input.value) b.setAttribute("aria-current", "true");
    b.append(pic, name);
    b.addEventListener("click", function () {
      self.set(img);
      self.say("Chosen: " + img.filename + (img.alt ? "." : " (it has no alt text yet: add it in the media library)."), "ok");
      self.dialog.close();
    });
    li.appendChild(b);
    return li;
  };

  // ------------------------------------------------------------------ the publish time
  // The time is the site's wall clock (data-time-zone), compared with "now" there as "YYYY-MM-DDTHH:MM"
  // strings. Under the field, what it means (live); Schedule and Publish check it before sending, with
  // the server's own messages (the server checks again).
  var SCHEDULE_PAST = "To schedule the post, choose a publish time in the future.";
  var PUBLISH_FUTURE = "This time is in the future: press Schedule, or empty the time to publish now.";

  function PublishTime(form) {
    var self = this;
    this.form = form;
    this.input = form.querySelector('input[name="publish"]');
    this.zone = form.getAttribute("data-time-zone") || "UTC";
    this.note = this.input && document.getElementById(this.input.id + "_empty");
    this.emptyText = this.note ? this.note.getAttribute("data-empty-text") : "";
    if (!this.input) return;
    this.input.addEventListener("input", function () {
      self.explain();
    });
    this.input.addEventListener("change", function () {
      self.explain();
    });
    // before editor.js's own submit check (capture on the document): a refused time is not sent
    document.addEventListener(
      "submit",
      function (e) {
        if (e.target === form) self.check(e);
      },
      true,
    );
    this.explain();
  }

  /** Now in the site's zone, as a datetime-local value with seconds. */
  PublishTime.prototype.now = function () {
    var p = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: this.zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date())
      .forEach(function (x) {
        p[x.type] = x.value;
      });
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute + ":" + p.second;
  };

  /** A datetime-local value to the second ("…T21:00" is "…T21:00:00"), as now() writes it. */
  function toSeconds(v) {
    return v.length === 16 ? v + ":00" : v.slice(0, 19);
  }

  /** A datetime-local value in words ("Wed, 3 Dec 2026, 21:00"), or "" when it is not one. */
  function wallClockWords(v) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v || "");
    if (!m) return "";
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: "UTC",
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(d);
  }

  PublishTime.prototype.future = function () {
    // to the second, as the server compares: a time later in this minute is in the future
    return !!this.input.value && toSeconds(this.input.value) > this.now();
  };

  PublishTime.prototype.explain = function () {
    if (!this.note) return;
    var v = this.input.value;
    var words = wallClockWords(v);
    var draft = !!this.form.querySelector('button[name="_schedule"]');
    var text = this.emptyText;
    if (v && !words) text = "";
    else if (words && this.future()) text = "Scheduled for " + words + " (" + this.zone + ")" + (draft ? " when you press Schedule." : ".");
    else if (words) text = "Published at " + words + " (" + this.zone + ")" + (draft ? " when you press Publish." : ".");
    this.note.textContent = text;
    this.note.hidden = !text;
  };

  /** Schedule needs a future time, Publish a time not in the future: else the field's message, nothing sent. */
  PublishTime.prototype.check = function (e) {
    var name = e.submitter && e.submitter.name;
    var problem = name === "_schedule" && !this.future() ? SCHEDULE_PAST : name === "_publish" && this.future() ? PUBLISH_FUTURE : "";
    var error = document.getElementById(this.input.id + "_error");
    if (!problem) {
      if (error && error.hasAttribute("data-client")) this.clear(error);
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    if (!error) {
      error = document.createElement("p");
      error.className = "errorlist";
      error.id = this.input.id + "_error";
      error.setAttribute("data-client", "");
      this.input.parentNode.insertBefore(error, this.note ? this.note.nextSibling : this.input.nextSibling);
    }
    error.textContent = problem;
    this.input.setAttribute("aria-invalid", "true");
    this.input.setAttribute("aria-describedby", error.id);
    var row = this.input.closest(".form-row");
    if (row) row.classList.add("has-error");
    this.input.focus();
  };

  PublishTime.prototype.clear = function (error) {
    error.remove();
    this.input.removeAttribute("aria-invalid");
    var help = document.getElementById(this.input.id + "_help");
    if (help) this.input.setAttribute("aria-describedby", help.id);
    else this.input.removeAttribute("aria-describedby");
    var row = this.input.closest(".form-row");
    if (row) row.classList.remove("has-error");
  };

  // ------------------------------------------------------------------ the page: focus mode and shortcuts
  function Studio(form) {
    var self = this;
    this.form = form;
    this.fields = Array.prototype.map.call(form.querySelectorAll(".markdown-editor"), function (ed) {
      return new MarkdownField(ed);
    });
    form.querySelectorAll(".image-picker").forEach(function (el) {
      new ImagePicker(el);
    });
    new PublishTime(form);
    this.focusButton = document.querySelector("[data-studio-focus]");
    this.live = document.createElement("p");
    this.live.className = "visually-hidden";
    this.live.setAttribute("aria-live", "polite");
    document.body.appendChild(this.live);
    if (this.focusButton) {
      this.focusButton.hidden = false;
      this.focusButton.addEventListener("click", function () {
        self.focusMode(!document.documentElement.classList.contains("studio-focus"));
      });
    }
    document.addEventListener("keydown", function (e) {
      self.onKey(e);
    });
  }

  Studio.prototype.focusMode = function (on) {
    document.documentElement.classList.toggle("studio-focus", on);
    if (this.focusButton) {
      this.focusButton.setAttribute("aria-pressed", on ? "true" : "false");
      this.focusButton.textContent = on ? "Leave focus mode" : "Focus mode";
    }
    this.live.textContent = on ? "Focus mode: press Escape to leave." : "Focus mode left.";
    var body = this.form.querySelector(".md-source");
    if (on && body) body.focus();
  };

  Studio.prototype.onKey = function (e) {
    var mod = e.ctrlKey || e.metaKey;
    var key = (e.key || "").toLowerCase();
    if (mod && !e.shiftKey && !e.altKey && key === "s") {
      e.preventDefault();
      // Save and keep editing: the Save button, through editor.js (session check, nothing lost)
      var save = this.form.querySelector('button[name="_continue"]');
      if (this.form.requestSubmit) this.form.requestSubmit(save || undefined);
      else if (save) save.click();
    } else if (mod && e.shiftKey && key === "p") {
      e.preventDefault();
      if (this.fields[0]) this.fields[0].togglePreview();
    } else if (mod && e.shiftKey && key === "f") {
      e.preventDefault();
      this.focusMode(!document.documentElement.classList.contains("studio-focus"));
    } else if (key === "escape" && document.querySelector(".studio-help[open]")) {
      var help = document.querySelector(".studio-help[open]");
      help.open = false;
      help.querySelector("summary").focus();
    } else if (
      key === "escape" &&
      !e.defaultPrevented &&
      document.documentElement.classList.contains("studio-focus") &&
      !document.querySelector("dialog[open]")
    ) {
      this.focusMode(false);
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-studio]");
    if (form) new Studio(form);
  });
})();
