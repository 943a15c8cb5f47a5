// Review gallery: filters and search, chapter links that seek the player, and captions
// that also load when the page is opened from disk. No server, no dependencies.
(function () {
  "use strict";

  var dataElement = document.getElementById("gallery-data");
  if (!dataElement) return;
  var data = JSON.parse(dataElement.textContent);

  function fold(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  var byId = new Map();
  data.videos.forEach(function (v) { byId.set(v.id, { search: fold(v.search), vtt: v.vtt }); });
  var cards = Array.prototype.slice.call(document.querySelectorAll(".video-card"));

  // ------------------------------------------------------------ filters and search
  var form = document.getElementById("filters");
  var count = document.getElementById("result-count");
  var noResults = document.getElementById("no-results");

  function plural(n) { return n === 1 ? "video" : "videos"; }

  function applyFilters() {
    var procedure = form.elements.procedure.value;
    var region = form.elements.region.value;
    var level = form.elements.level.value;
    var language = form.elements.language ? form.elements.language.value : "";  // only with two languages or more
    var terms = fold(form.elements.q.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (card) {
      var entry = byId.get(card.dataset.id) || { search: "" };
      var visible = (!procedure || card.dataset.procedure === procedure) &&
        (!region || card.dataset.region === region) &&
        (!level || card.dataset.level === level) &&
        (!language || card.dataset.lang === language) &&
        terms.every(function (t) { return entry.search.indexOf(t) !== -1; });
      if (!visible) {
        var player = card.querySelector("video");
        if (player && !player.paused) player.pause();
      }
      card.hidden = !visible;
      if (visible) shown += 1;
    });
    count.textContent = shown === cards.length
      ? cards.length + " " + plural(cards.length)
      : shown + " of " + cards.length + " " + plural(cards.length) + " shown";
    noResults.hidden = shown > 0;
  }

  if (form) {
    form.hidden = false;
    form.addEventListener("input", applyFilters);
    form.addEventListener("change", applyFilters);
    form.addEventListener("submit", function (event) { event.preventDefault(); applyFilters(); });
    form.addEventListener("reset", function () { window.setTimeout(applyFilters, 0); });
    document.addEventListener("click", function (event) {
      var clear = event.target.closest("[data-action='clear-filters']");
      if (!clear) return;
      form.reset();
      form.elements.q.focus();
    });
  }

  // ------------------------------------------------------------ chapters seek the player
  function canSeek(player) {
    var ranges = player.seekable;
    return ranges.length > 0 && ranges.end(ranges.length - 1) > 0;
  }

  // A server that ignores HTTP range requests (python -m http.server does) leaves a
  // streamed video unseekable: load the whole file once and play it from memory.
  function loadWhole(player) {
    if (!player.wholeFile) {
      player.wholeFile = fetch(player.currentSrc || player.src)
        .then(function (response) {
          if (!response.ok) throw new Error(response.status + " " + response.statusText);
          return response.blob();
        })
        .then(function (blob) {
          return new Promise(function (resolve) {
            player.addEventListener("loadedmetadata", resolve, { once: true });
            player.src = URL.createObjectURL(blob);
          });
        });
    }
    return player.wholeFile;
  }

  function seekTo(player, seconds) {
    function go() {
      player.currentTime = seconds;
      var playing = player.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused: stay paused there */ });
    }
    var streamed = /^https?:$/.test(window.location.protocol);
    if (player.readyState < 1 || canSeek(player) || !streamed) go();
    else loadWhole(player).then(go, go);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.chapter");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var player = document.getElementById(link.getAttribute("aria-controls"));
    if (!player) return;
    event.preventDefault();
    seekTo(player, parseFloat(link.dataset.start));
  });

  function markChapter(player) {
    var card = player.closest(".video-card");
    if (!card) return;
    var t = player.currentTime;
    card.querySelectorAll("a.chapter").forEach(function (link) {
      var inside = t >= parseFloat(link.dataset.start) - 0.01 && t < parseFloat(link.dataset.end) - 0.01;
      if (inside) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
    });
  }

  var players = Array.prototype.slice.call(document.querySelectorAll(".video-card video"));
  players.forEach(function (player) {
    player.addEventListener("timeupdate", function () { markChapter(player); });
    player.addEventListener("seeked", function () { markChapter(player); });
    // One narrator at a time: starting a video pauses the others.
    player.addEventListener("play", function () {
      players.forEach(function (other) { if (other !== player && !other.paused) other.pause(); });
    });
  });

  // ------------------------------------------------------------ captions from disk
  // Browsers refuse to load a <track> from file:// (each file is its own origin); the
  // page carries each WebVTT file's text, so give the track a data: URL instead.
  if (window.location.protocol === "file:") {
    document.querySelectorAll("track[data-video]").forEach(function (track) {
      var entry = byId.get(track.dataset.video);
      if (entry && entry.vtt) track.src = "data:text/vtt;charset=utf-8," + encodeURIComponent(entry.vtt);
    });
  }
})();
