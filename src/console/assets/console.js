// chainpool console: live updates and the overview's chart. Plain JavaScript, no build step;
// served by the daemon (src/console/assets), like everything this page loads.
"use strict";
(function () {
  var main = document.getElementById("main");
  var status = document.getElementById("live-status");
  if (!main || !status) return;

  // ---------------------------------------------------------------- chart (overview)
  var chart = null;
  // The series ride in the page (data-series), so drawing and live updates need no request.
  function drawChart(box) {
    if (typeof uPlot === "undefined") return;
    var d;
    try { d = JSON.parse(box.getAttribute("data-series") || "null"); } catch (e) { d = null; }
    if (!d) return;
    var data = [d.t, d.free, d.applies];
    if (chart && chart.root.parentNode === box) {
      chart.setData(data);
      return;
    }
    if (chart) chart.destroy();
    box.textContent = "";
    chart = new uPlot({
      width: Math.max(240, box.clientWidth || 600),
      height: 220,
      series: [
        {},
        { label: "Free clusters", stroke: "#0b5cad", width: 2, scale: "n", points: { size: 5 } },
        { label: "Applies / min", stroke: "#b35900", width: 1, scale: "n", points: { show: false }, paths: uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined, fill: "rgba(179,89,0,0.35)" },
      ],
      axes: [{}, { scale: "n" }],
      scales: { n: { range: function (u, min, max) { return [0, Math.max(4, max)]; } } },
    }, data, box);
  }
  window.addEventListener("resize", function () {
    if (chart) chart.setSize({ width: Math.max(240, chart.root.parentNode.clientWidth), height: 220 });
  });

  // ---------------------------------------------------------------- live refresh
  var refreshing = false;
  var again = false;
  // Someone typing in a filter field keeps what they typed: the refresh waits until they leave it.
  var waitingForBlur = false;
  function typing() {
    var a = document.activeElement;
    return a && main.contains(a) && (a.tagName === "TEXTAREA" || a.tagName === "SELECT" || (a.tagName === "INPUT" && a.type !== "checkbox" && a.type !== "submit"));
  }
  main.addEventListener("focusout", function () {
    if (!waitingForBlur) return;
    waitingForBlur = false;
    setTimeout(refresh, 0);
  });

  // Puts a fresh main part in place, keeping the chart (given the new series) and the element that has focus:
  // a refresh must not move the keyboard user.
  function show(html) {
    var focusedId = document.activeElement && document.activeElement.id;
    var box = document.getElementById("pool-chart");
    main.innerHTML = html;
    var placeholder = document.getElementById("pool-chart");
    if (box && placeholder && chart) {
      box.setAttribute("data-series", placeholder.getAttribute("data-series") || "null");
      placeholder.replaceWith(box);
    }
    if (focusedId) {
      var f = document.getElementById(focusedId);
      if (f) f.focus();
    }
    var newBox = document.getElementById("pool-chart");
    if (newBox) drawChart(newBox);
    document.body.setAttribute("data-refreshed", String(Date.now()));
  }

  function refresh() {
    if (main.getAttribute("data-live") !== "on") return;
    if (typing()) { waitingForBlur = true; return; }
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.pathname + location.search, { headers: { "x-console-fragment": "main" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.redirected) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null) show(html);
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  // A change message: the view this page follows comes in it, rendered once for every tab on it; other pages refetch.
  function changed(e) {
    var message = null;
    try { message = JSON.parse(e.data); } catch (err) { message = null; }
    var fresh = message && message.view && message.view.main;
    if (typeof fresh !== "string" || main.getAttribute("data-live") !== "on") return refresh();
    if (typing()) { waitingForBlur = true; return; }
    if (refreshing) { again = true; return; }
    show(fresh);
  }

  function connect() {
    if (typeof EventSource === "undefined") return;
    var view = main.getAttribute("data-live-view");
    var source = new EventSource("/console/live" + (view ? "?view=" + encodeURIComponent(view) : ""));
    source.addEventListener("hello", function () {
      status.textContent = "Live";
      status.className = "live-status on";
    });
    source.addEventListener("change", changed);
    source.onerror = function () {
      // Refused for good (the session ended): the page load leads to the sign-in.
      if (source.readyState === EventSource.CLOSED) { location.reload(); return; }
      status.textContent = "Reconnecting…";
      status.className = "live-status off";
    };
  }

  // A switch that applies itself (the Events page's "warnings only"); its Show button does the same without script.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-autosubmit") && t.form) t.form.submit();
  });

  var box = document.getElementById("pool-chart");
  if (box) drawChart(box);
  connect();
})();
