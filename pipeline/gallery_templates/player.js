// The player page: deep links (#t=SECONDS, #chapter=ID) seek the video; the current chapter is marked.
(function () {
  "use strict";
  var video = document.getElementById("player");
  var data = JSON.parse(document.getElementById("player-data").textContent);
  var chapters = data.chapters || [];

  function target(hash) {
    var params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
    if (params.has("chapter")) {
      var id = params.get("chapter");
      for (var i = 0; i < chapters.length; i++) {
        if (chapters[i].id === id) { return chapters[i].start; }
      }
      return null;
    }
    if (params.has("t")) {
      var t = parseFloat(params.get("t"));
      return isFinite(t) && t >= 0 ? t : null;
    }
    return null;
  }

  function seek(seconds) {
    if (seconds === null) { return; }
    var go = function () { video.currentTime = Math.min(seconds, video.duration || seconds); mark(); };
    if (video.readyState >= 1) { go(); } else { video.addEventListener("loadedmetadata", go, { once: true }); }
  }

  function mark() {
    var now = video.currentTime;
    document.querySelectorAll("a.chapter").forEach(function (a) {
      var inside = now >= parseFloat(a.dataset.start) - 0.01 && now < parseFloat(a.dataset.end);
      if (inside) { a.setAttribute("aria-current", "true"); } else { a.removeAttribute("aria-current"); }
    });
  }

  window.addEventListener("hashchange", function () { seek(target(location.hash)); });
  video.addEventListener("timeupdate", mark);
  seek(target(location.hash));

  var copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", function () {
      var box = document.getElementById("snippet");
      box.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(box.value).catch(function () {}); }
      else { document.execCommand("copy"); }
    });
  }
})();
