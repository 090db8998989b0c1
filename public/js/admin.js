// Folio admin: progressive enhancements. Everything works without JS; this adds select-all and the
// "N selected" counter, slug-from-title, the live slug check, the keyboard-operable author picker and
// tag field (comboboxes) and collapsing filters on phones. The post editor's own parts (live preview,
// images, focus mode) are public/js/studio.js. No inline scripts (CSP).
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () {
        fn.apply(null, args);
      }, ms);
    };
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
    boxes.forEach(function (b) {
      b.addEventListener("change", update);
    });
    if (toggle)
      toggle.addEventListener("change", function () {
        boxes.forEach(function (b) {
          b.checked = toggle.checked;
        });
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
      slug.addEventListener("input", function () {
        touched = slug.value !== "";
      });
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
      if (!slug.value) {
        status.textContent = "";
        status.className = "slug-status";
        return;
      }
      var q = new URLSearchParams({ slug: slug.value });
      if (publish && publish.value) q.set("publish", publish.value);
      var id = slug.getAttribute("data-object-id");
      if (id) q.set("id", id);
      fetch(slug.getAttribute("data-slug-check") + "?" + q.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (data) {
          if (!data) return;
          status.textContent = data.message;
          status.className = "slug-status " + (data.ok ? "ok" : "taken");
        })
        .catch(function () {});
    }, 300);
    ["input", "slugchange"].forEach(function (ev) {
      slug.addEventListener(ev, check);
    });
    if (publish) publish.addEventListener("change", check);
  }

  // ---- comboboxes (WAI-ARIA 1.2 combobox + listbox popup): the author picker and the tag field.
  // Typing asks the server for suggestions; ArrowDown/ArrowUp move through them (aria-activedescendant),
  // Enter picks, Escape closes; aria-expanded says whether the list is shown.
  var comboboxes = 0;
  function combobox(input, list, opts) {
    var items = [];
    var active = -1;
    var seq = 0;
    var wantFirst = false;
    if (!list.id) list.id = "combobox-" + ++comboboxes + "-list";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    list.setAttribute("role", "listbox");
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function setActive(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, j) {
        li.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      var li = list.children[i];
      if (li) {
        input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      } else input.removeAttribute("aria-activedescendant");
    }
    function pick(i) {
      var item = items[i];
      close();
      if (item) opts.onPick(item);
    }
    function show(found) {
      items = found;
      list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = item.label;
        if (item.isNew) li.className = "combobox-new";
        li.addEventListener("mousedown", function (e) {
          e.preventDefault();
        }); // keeps the focus in the input
        li.addEventListener("click", function () {
          pick(i);
        });
        list.appendChild(li);
      });
      if (!items.length) {
        wantFirst = false;
        return close();
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(wantFirst ? 0 : -1);
      wantFirst = false;
    }
    function lookupNow() {
      var mine = ++seq;
      opts.suggest(input.value, function (found) {
        if (mine === seq && document.activeElement === input) show(found);
      });
    }
    var lookup = debounce(lookupNow, 150);
    input.addEventListener("input", lookup);
    input.addEventListener("focus", lookup);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (e) {
      var open = !list.hidden && items.length > 0;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!open) {
          wantFirst = true;
          lookupNow();
        } else if (e.key === "ArrowDown") setActive(active + 1 >= items.length ? 0 : active + 1);
        else setActive(active <= 0 ? items.length - 1 : active - 1);
      } else if (e.key === "Enter") {
        if (open && active >= 0) {
          e.preventDefault();
          pick(active);
        } else if (opts.onEnter) opts.onEnter(e);
      } else if (e.key === "Escape" && open) {
        e.preventDefault();
        close();
      } else if (opts.onKey) opts.onKey(e);
    });
    return { close: close };
  }

  function getJson(url, params, done) {
    var q = new URLSearchParams(url.split("?")[1] || "");
    Object.keys(params).forEach(function (k) {
      q.set(k, params[k]);
    });
    fetch(url.split("?")[0] + "?" + q.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.ok ? r.json() : { results: [] };
      })
      .then(function (data) {
        done(data.results || []);
      })
      .catch(function () {
        done([]);
      });
  }

  // ---- author picker: the search box (a combobox) fills the raw id field
  function initAutocomplete() {
    document.querySelectorAll(".fk-picker").forEach(function (picker) {
      var idInput = picker.querySelector(".fk-id");
      var search = picker.querySelector(".fk-search");
      var label = picker.querySelector(".fk-label");
      var url = picker.getAttribute("data-autocomplete-url");
      combobox(search, picker.querySelector(".fk-results"), {
        suggest: function (term, done) {
          getJson(url, { term: term }, function (results) {
            done(
              results.map(function (u) {
                return { id: u.id, text: u.text, label: u.text + (u.name ? " — " + u.name : "") };
              }),
            );
          });
        },
        onPick: function (item) {
          idInput.value = String(item.id);
          search.value = item.text;
          label.textContent = item.text + " (id " + item.id + ")";
          idInput.dispatchEvent(new Event("input", { bubbles: true }));
        },
      });
    });
  }

  // ---- tag field: chosen tags as removable chips, a combobox to find or add one. What works without
  // JS stays the form's fields, hidden and kept in step: a checkbox per existing tag (its id: an
  // existing tag never travels by name) and the text input of new tag names, comma-separated.
  function initTags() {
    document.querySelectorAll(".tag-field").forEach(function (field) {
      var names = field.querySelector(".tag-names");
      var idsName = names.getAttribute("data-ids-name");
      var url = field.getAttribute("data-tag-autocomplete");
      var current = field.querySelector(".tag-current");
      if (!current) {
        current = document.createElement("ul");
        current.className = "tag-current";
        field.insertBefore(current, names);
      }
      current.hidden = true;
      var chips = document.createElement("ul");
      chips.className = "tag-chips";
      chips.setAttribute("aria-label", "Chosen tags");
      var input = document.createElement("input");
      input.type = "text";
      input.id = names.id + "_input";
      input.className = "vTextField tag-input";
      input.placeholder = "Type a tag…";
      ["aria-describedby", "aria-invalid"].forEach(function (a) {
        if (names.hasAttribute(a)) input.setAttribute(a, names.getAttribute(a));
      });
      var list = document.createElement("ul");
      list.id = names.id + "_listbox";
      list.className = "fk-results tag-results";
      list.setAttribute("aria-label", "Tag suggestions");
      list.hidden = true;
      var status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("aria-live", "polite");
      var label = document.querySelector('label[for="' + names.id + '"]');
      if (label) label.htmlFor = input.id;
      names.hidden = true;
      field.append(chips, input, list, status);
      var lastResults = [];

      function boxes() {
        return Array.prototype.slice.call(current.querySelectorAll('input[type="checkbox"]'));
      }
      function newNames() {
        return names.value
          .split(",")
          .map(function (s) {
            return s.trim();
          })
          .filter(Boolean);
      }
      // the chips in the order they were chosen (those the page came with first, as shown)
      var order = [];
      function key(tag) {
        return tag.id ? "id:" + tag.id : "new:" + tag.name.toLowerCase();
      }
      function chose(tag) {
        order = order
          .filter(function (k) {
            return k !== key(tag);
          })
          .concat([key(tag)]);
      }
      /** The chips: existing tags ({id, name}) and new names ({name}). */
      function chosen() {
        var all = boxes()
          .filter(function (b) {
            return b.checked;
          })
          .map(function (b) {
            return { id: b.value, name: b.getAttribute("data-tag-name") };
          })
          .concat(
            newNames().map(function (n) {
              return { name: n };
            }),
          );
        all.forEach(function (t) {
          if (order.indexOf(key(t)) === -1) order.push(key(t));
        });
        return all.sort(function (a, b) {
          return order.indexOf(key(a)) - order.indexOf(key(b));
        });
      }
      function has(name) {
        return chosen().some(function (t) {
          return t.name.toLowerCase() === name.toLowerCase();
        });
      }
      function changed(el, said) {
        el.dispatchEvent(new Event("input", { bubbles: true })); // the autosave sees the change
        render();
        if (said) status.textContent = said;
      }
      function render() {
        chips.textContent = "";
        chosen().forEach(function (tag) {
          var li = document.createElement("li");
          li.className = "tag-chip" + (tag.id ? "" : " tag-chip-new");
          var text = document.createElement("span");
          text.textContent = tag.name;
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "tag-remove";
          remove.textContent = "×";
          remove.setAttribute("aria-label", "Remove tag " + tag.name);
          remove.addEventListener("click", function () {
            if (tag.id) {
              var box = boxes().filter(function (b) {
                return b.value === tag.id;
              })[0];
              if (box) box.checked = false;
              changed(box || names, "Removed tag " + tag.name + ".");
            } else {
              names.value = newNames()
                .filter(function (n) {
                  return n !== tag.name;
                })
                .join(", ");
              changed(names, "Removed tag " + tag.name + ".");
            }
            input.focus();
          });
          li.append(text, remove);
          chips.appendChild(li);
        });
        chips.hidden = chips.children.length === 0;
      }
      /** An existing tag, by id: its checkbox ticked (made if the page had none). */
      function addExisting(tag) {
        input.value = "";
        var box = boxes().filter(function (b) {
          return b.value === String(tag.id);
        })[0];
        if (box && box.checked) return void (status.textContent = "Tag " + tag.name + " is already chosen.");
        if (!box) {
          var li = document.createElement("li");
          box = document.createElement("input");
          box.type = "checkbox";
          box.name = idsName;
          box.value = String(tag.id);
          box.setAttribute("data-tag-name", tag.name);
          box.setAttribute("data-checked-by-value", "");
          li.appendChild(box);
          current.appendChild(li);
        }
        box.checked = true;
        chose({ id: box.value });
        changed(box, "Added tag " + tag.name + ".");
      }
      /** A name typed: the suggested tag of that very name if there is one, else a new tag (commas separate names). */
      function addTyped(name) {
        name = name.replace(/,/g, " ").replace(/\s+/g, " ").trim();
        input.value = "";
        if (!name) return;
        var known = lastResults.filter(function (t) {
          return t.name.toLowerCase() === name.toLowerCase();
        })[0];
        if (known) return addExisting(known);
        if (has(name)) return void (status.textContent = "Tag " + name + " is already chosen.");
        names.value = newNames().concat([name]).join(", ");
        chose({ name: name });
        changed(names, "Added new tag " + name + ".");
      }
      combobox(input, list, {
        suggest: function (term, done) {
          var typed = term.replace(/,/g, " ").trim();
          getJson(url, { term: typed }, function (results) {
            lastResults = results;
            var now = chosen();
            var found = results
              .filter(function (t) {
                return !now.some(function (c) {
                  return c.id === String(t.id);
                });
              })
              .map(function (t) {
                return { tag: t, label: t.name };
              });
            var known = results.some(function (t) {
              return t.name.toLowerCase() === typed.toLowerCase();
            });
            if (typed && !known && !has(typed)) found.push({ name: typed, label: "New tag “" + typed + "”", isNew: true });
            done(found);
          });
        },
        onPick: function (item) {
          if (item.tag) addExisting(item.tag);
          else addTyped(item.name);
        },
        onEnter: function (e) {
          if (!input.value.trim()) return; // an empty tag box: Enter submits the form as usual
          e.preventDefault();
          addTyped(input.value);
        },
        onKey: function (e) {
          if (e.key === ",") {
            e.preventDefault();
            addTyped(input.value);
          } else if (e.key === "Backspace" && input.value === "") {
            var last = chips.lastElementChild && chips.lastElementChild.querySelector(".tag-remove");
            if (last) last.click(); // the last chip goes, as its × would take it
          }
        },
      });
      // a name typed but not yet added is kept when the form is saved
      var form = field.closest("form");
      if (form)
        form.addEventListener("submit", function () {
          if (input.value.trim()) addTyped(input.value);
        });
      // an autosave restored into the form (editor.js fill()) changes the fields: show its tags
      field.addEventListener("change", function (e) {
        if (e.target !== input) render();
      });
      render();
    });
  }

  // ---- the nav and the filters: closed in the HTML (phones tap to open them), opened on wide
  // screens. admin.css shows them there until this has run: nothing moves (no layout shift).
  function initFilters() {
    var d = document.querySelector(".filter-details");
    if (d && window.matchMedia("(width > 1000px)").matches) d.open = true;
    var nav = document.querySelector(".admin-nav-details");
    if (nav && window.matchMedia("(width > 760px)").matches) nav.open = true;
    document.documentElement.classList.add("admin-js");
  }

  document.addEventListener("DOMContentLoaded", function () {
    initChangeList();
    initPrepopulate();
    initSlugCheck();
    initAutocomplete();
    initTags();
    initFilters();
  });
})();
