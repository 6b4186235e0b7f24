// Autocomplete for the search box: fills its <datalist> from /api/suggest as the reader types.
// The page works without it; a static file because the Content-Security-Policy bans inline script.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggest]");
  var list = document.getElementById("suggestions");
  if (!input || !list || !window.fetch) return;
  var timer = null;
  var latest = 0;

  function quoted(field, value) {
    return field + ':"' + value.replace(/"/g, "") + '"';
  }

  function show(text, data) {
    var head = text.replace(/\S*$/, "");
    var options = [];
    data.people.forEach(function (p) { options.push([quoted("person", p.value), "person · " + p.count]); });
    data.topics.forEach(function (t) { options.push([quoted("topic", t.value), "topic · " + t.count]); });
    data.words.forEach(function (w) {
      options.push([head + w.value, "in " + w.count + (w.count === 1 ? " title" : " titles")]);
    });
    list.replaceChildren.apply(list, options.map(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      option.label = o[1];
      return option;
    }));
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var text = input.value;
    if (!text.trim() || text.length > 100) { list.replaceChildren(); return; }
    timer = setTimeout(function () {
      var ticket = ++latest;
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(text))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && ticket === latest) show(text, data); })
        .catch(function () { /* no suggestions: the box still searches */ });
    }, 120);
  });
})();
