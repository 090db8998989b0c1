// Folio: click-to-load video embeds. The server renders a pasted YouTube or Vimeo URL as a placeholder
// (src/blog/markdown.ts embedHtml): no request goes to the video's host until the reader clicks "Play
// video on ...". This script shows that button and, on click, swaps in the player's iframe from
// youtube-nocookie.com or player.vimeo.com (dnt=1): the CSP's only frame sources. The ids are checked
// again here. Without JavaScript the placeholder is a link to the video's page.
// Delegated on the document, so placeholders added later (the editor's live preview) work too.
(function () {
  "use strict";

  var PLAYERS = {
    youtube: {
      name: "YouTube",
      id: /^[A-Za-z0-9_-]{11}$/,
      src: function (id, start) {
        return "https://www.youtube-nocookie.com/embed/" + id + "?autoplay=1&rel=0" + (start ? "&start=" + start : "");
      },
    },
    vimeo: {
      name: "Vimeo",
      id: /^[0-9]{1,12}$/,
      src: function (id, start) {
        return "https://player.vimeo.com/video/" + id + "?dnt=1&autoplay=1" + (start ? "#t=" + start + "s" : "");
      },
    },
  };

  function reveal(root) {
    var buttons = (root || document).querySelectorAll("figure[data-embed] .embed-play[hidden]");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  }

  function play(figure) {
    var player = Object.prototype.hasOwnProperty.call(PLAYERS, figure.getAttribute("data-embed")) ? PLAYERS[figure.getAttribute("data-embed")] : null;
    var id = figure.getAttribute("data-embed-id") || "";
    var start = figure.getAttribute("data-embed-start") || "";
    if (!player || !player.id.test(id) || !/^[0-9]{0,6}$/.test(start)) return;
    var frame = document.createElement("iframe");
    frame.src = player.src(id, start ? Number(start) : 0);
    frame.title = "Video on " + player.name;
    frame.allow = "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; fullscreen";
    frame.allowFullscreen = true;
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    frame.loading = "lazy";
    var box = figure.querySelector(".embed-frame");
    box.textContent = "";
    box.appendChild(frame);
    figure.classList.add("embed--playing");
    frame.focus();
  }

  document.addEventListener("click", function (e) {
    var button = e.target && e.target.closest ? e.target.closest(".embed-play") : null;
    var figure = button ? button.closest("figure[data-embed]") : null;
    if (figure) play(figure);
  });

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", function () {
      reveal();
    });
  else reveal();
  // The editor's live preview replaces its HTML: show the buttons of new placeholders too.
  if (window.MutationObserver) {
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) if (records[i].addedNodes.length) return reveal();
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
})();
