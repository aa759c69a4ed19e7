// stagesim report: draws the timeline from the JSON in #stagesim-data.
// No network, no libraries. Deterministic: the drawing depends only on the
// data, the filter and the zoom. When done it sets data-* counts on <body>
// (rendered, lanes, users, arrows, marks, violations) for tests.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("stagesim-data").textContent);
  var S = D.strs;
  var NS = "http://www.w3.org/2000/svg";
  var LABEL_W = 200, AXIS_H = 40, H_SIM = 30, H_HOST = 34, H_USER = 24;
  var IDLE_MS = 250;      // a quiet stretch longer than this is cut out
  var BREAK_W = 26;       // width of a cut-out stretch
  var MAX_LANES = 200;    // user lanes drawn at once
  var MIN_GAP = 16;       // px between distinct shown instants, at most, when fitting

  var users = D.users.map(function (u, i) {
    return {
      i: i, name: u[0], host: u[1], group: u[2], token: S[u[3]], entitled: u[4],
      outcome: u[5] >= 0 ? S[u[5]] : "", codes: u[6], http: u[7], violated: u[8]
    };
  });
  users.forEach(function (u) {
    u.tags = [u.name, "group " + (u.group + 1), u.token, u.outcome,
      u.codes.join(" "), u.http.map(function (c) { return "http " + c; }).join(" "),
      u.violated ? "violation" : "", u.entitled ? "entitled" : "not entitled"].join(" | ").toLowerCase();
  });

  // Windows in the fault row: each on the first row free at its start.
  var winRow = [], rowEnds = [];
  D.windows.forEach(function (w) {
    var r = rowEnds.findIndex(function (end) { return end <= w[0]; });
    if (r < 0) { r = rowEnds.length; rowEnds.push(0); }
    rowEnds[r] = Math.max(w[1], w[0] + 1);
    winRow.push(r);
  });
  H_SIM = Math.max(H_SIM, 11 + rowEnds.length * 13);

  // `#filter=user-0042` in the address presets the filter (a link to one user).
  var preset = /^#filter=(.*)$/.exec(location.hash);
  var state = { scale: 0, gap: MIN_GAP, fitted: false, query: preset ? decodeURIComponent(preset[1]) : "" };

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(ms) { return (ms / 1000).toFixed(3) + "s"; }
  function fmtSpan(ms) { return ms >= 1000 ? (ms / 1000).toFixed(1) + "s" : ms + "ms"; }
  function cls(i) { return S[i]; }
  function codeClass(c) {
    return c === 1000 ? "ok" : c === 1008 ? "policy" : (c === 1001 || c === 1012 || c === 1013) ? "retry"
      : c === 1011 ? "defect" : c === 1006 ? "lost" : "proto";
  }

  // Which users a query shows: comma-separated terms, any of which matches
  // a user's name, group, token, outcome, close codes or "violation".
  function match(query) {
    var terms = query.toLowerCase().split(",").map(function (t) { return t.trim(); })
      .filter(function (t) { return t.length > 0; });
    if (terms.length === 0) return { list: D.sample.slice(), total: users.length, sampled: true };
    var found = users.filter(function (u) {
      return terms.some(function (t) { return u.tags.indexOf(t) >= 0; });
    }).map(function (u) { return u.i; });
    return { list: found.slice(0, MAX_LANES), total: found.length, sampled: false };
  }

  // Lanes, top to bottom: faults, server hosts, then each client host
  // followed by its shown users.
  function layout(shown) {
    var lanes = [], byHost = {}, byUser = {}, y = 0;
    function add(l, h) { l.y = y; l.h = h; y += h; lanes.push(l); return l; }
    add({ kind: "sim", name: "faults" }, H_SIM);
    D.hosts.forEach(function (h, i) {
      if (h[1]) return;
      byHost[i] = add({ kind: "host", host: i, name: h[0] }, H_HOST);
    });
    D.hosts.forEach(function (h, i) {
      if (!h[1]) return;
      byHost[i] = add({ kind: "host", host: i, name: h[0], clients: true }, H_HOST);
      shown.forEach(function (u) {
        if (users[u].host === i) byUser[u] = add({ kind: "user", user: u, name: users[u].name }, H_USER);
      });
    });
    return { lanes: lanes, byHost: byHost, byUser: byUser, height: y };
  }

  // Every instant something happens anywhere in the run (any user, any
  // host): a stretch with none for over IDLE_MS is idle and is cut out.
  var busy = (function () {
    var set = new Set([0, D.end]);
    D.sim.forEach(function (m) { set.add(m[0]); });
    D.host_marks.forEach(function (m) { set.add(m[0]); });
    D.user_marks.forEach(function (list) { list.forEach(function (m) { set.add(m[0]); }); });
    D.user_spans.forEach(function (list) { list.forEach(function (s) { set.add(s[0]); set.add(s[1]); }); });
    D.windows.forEach(function (w) { set.add(w[0]); set.add(w[1]); });
    D.flags.forEach(function (f) { set.add(f[0]); });
    return set;
  })();
  // The axis instants: every busy instant, and which of them are on the
  // shown lanes. A shown instant gets at least `gap` px after the one
  // before it, time in between `scale` px/ms, an idle stretch its label's
  // width (at least BREAK_W).
  function instants(L) {
    var shown = new Set([0, D.end]);
    function add(t) { shown.add(t); }
    D.sim.forEach(function (m) { add(m[0]); });
    D.host_marks.forEach(function (m) { if (m[4] < 0 || m[4] in L.byUser) add(m[0]); });
    Object.keys(L.byUser).forEach(function (u) {
      D.user_marks[u].forEach(function (m) { add(m[0]); });
      D.user_spans[u].forEach(function (s) { add(s[0]); add(s[1]); });
    });
    D.windows.forEach(function (w) { add(w[0]); add(w[1]); });
    D.flags.forEach(function (f) { add(f[0]); });
    var T = Array.from(busy).sort(function (a, b) { return a - b; });
    return { T: T, shown: T.map(function (t) { return shown.has(t); }) };
  }
  // A cut-out stretch is as wide as its label ("+49.2s"), so that every
  // idle gap keeps its label: none is dropped for want of room.
  function breakLabel(dt) { return "+" + fmtSpan(dt); }
  function breakWidth(dt) { return Math.max(BREAK_W, breakLabel(dt).length * 6 + 8); }
  function step(I, i, scale, gap) {
    var dt = I.T[i] - I.T[i - 1];
    if (dt > IDLE_MS) return breakWidth(dt);
    return I.shown[i] ? Math.max(dt * scale, gap) : dt * scale;
  }
  function widthOf(I, scale, gap) {
    var w = 0;
    for (var i = 1; i < I.T.length; i++) w += step(I, i, scale, gap);
    return w;
  }
  function fit(I, avail) {
    // Distinct instants get up to 70% of the width, time the rest.
    var gap = MIN_GAP, fixed = widthOf(I, 0, gap);
    if (fixed > avail * 0.7) gap = Math.max(1, gap * avail * 0.7 / fixed);
    var lo = 0, hi = 5;
    if (widthOf(I, hi, gap) <= avail) return { scale: hi, gap: gap };
    for (var k = 0; k < 40; k++) {
      var mid = (lo + hi) / 2;
      if (widthOf(I, mid, gap) <= avail) lo = mid; else hi = mid;
    }
    return { scale: lo, gap: gap };
  }
  function axis(I, scale, gap) {
    var T = I.T, X = [8], breaks = [];
    for (var i = 1; i < T.length; i++) {
      var w = step(I, i, scale, gap);
      if (T[i] - T[i - 1] > IDLE_MS) breaks.push([T[i - 1], T[i], X[i - 1], X[i - 1] + w]);
      X.push(X[i - 1] + w);
    }
    function x(t) {
      if (t <= T[0]) return X[0];
      var lo = 0, hi = T.length - 1;
      if (t >= T[hi]) return X[hi];
      while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (T[mid] <= t) lo = mid; else hi = mid; }
      return X[lo] + (t - T[lo]) / (T[hi] - T[lo]) * (X[hi] - X[lo]);
    }
    return { x: x, width: X[X.length - 1] + 40, breaks: breaks, T: T, X: X };
  }

  var svgAxis = document.getElementById("tl-axis");
  var svgLabels = document.getElementById("tl-labels");
  var svgLanes = document.getElementById("tl-lanes");
  var scroller = document.getElementById("tl-scroll");
  var corner = document.getElementById("tl-corner");
  var tip = document.getElementById("tip");

  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

  function render() {
    var m = match(state.query);
    var L = layout(m.list);
    var I = instants(L), T = I.T;
    if (!state.fitted) {
      var avail = Math.max(600, (scroller.clientWidth || 1200) - LABEL_W - 40);
      var f = fit(I, avail);
      state.scale = f.scale; state.gap = f.gap; state.fitted = true;
    }
    var A = axis(I, state.scale, state.gap), x = A.x, W = A.width, H = L.height;
    [svgAxis, svgLabels, svgLanes].forEach(clear);
    svgAxis.setAttribute("width", W); svgAxis.setAttribute("height", AXIS_H);
    svgLabels.setAttribute("width", LABEL_W); svgLabels.setAttribute("height", H);
    svgLanes.setAttribute("width", W); svgLanes.setAttribute("height", H);
    corner.style.width = LABEL_W + "px"; corner.style.height = AXIS_H + "px";
    var counts = { arrows: 0, marks: 0, violations: 0 };

    // Definitions: arrowheads per colour, the zig-zag of cut-out time.
    var defs = el("defs", {}, svgLanes);
    ["#8593a3", "#1f5fa8", "#2e9d4f", "#2f7fd8", "#e08a00", "#d62728", "#8e44ad"].forEach(function (c, i) {
      var mk = el("marker", { id: "head" + i, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0,0 L8,4 L0,8 z", fill: c }, mk);
    });
    var zz = el("pattern", { id: "zigzag", width: 10, height: 8, patternUnits: "userSpaceOnUse" }, defs);
    el("rect", { width: 10, height: 8, fill: "#f1f2f4" }, zz);
    el("path", { d: "M0,6 L2.5,2 L5,6 L7.5,2 L10,6", stroke: "#c3c8cf", fill: "none" }, zz);
    function head(c) {
      return c.indexOf("defect") >= 0 ? 5 : c.indexOf("policy") >= 0 ? 4 : c.indexOf("retry") >= 0 ? 3
        : (c.indexOf("ok") >= 0 || c === "event") ? 2 : c.indexOf("message") >= 0 ? 1 : c.indexOf("proto") >= 0 ? 6 : 0;
    }

    // Lane backgrounds and labels.
    var gBg = el("g", {}, svgLanes);
    L.lanes.forEach(function (l, i) {
      var c = "lane-bg " + (l.kind === "sim" ? "sim" : l.kind === "host" ? "host" : (i % 2 ? "alt" : ""));
      el("rect", { class: c, x: 0, y: l.y, width: W, height: l.h }, gBg);
      el("line", { class: "lane-sep", x1: 0, x2: W, y1: l.y + l.h - 0.5, y2: l.y + l.h - 0.5 }, gBg);
      var g = el("g", { class: "lane-label " + l.kind, "data-lane": l.name }, svgLabels);
      el("rect", { class: c, x: 0, y: l.y, width: LABEL_W, height: l.h }, g);
      el("line", { class: "lane-sep", x1: 0, x2: LABEL_W, y1: l.y + l.h - 0.5, y2: l.y + l.h - 0.5 }, g);
      var t = el("text", { x: l.kind === "user" ? 18 : 8, y: l.y + l.h / 2 + 4 }, g);
      t.textContent = l.name;
      if (l.kind === "user") {
        var u = users[l.user];
        var sub = el("tspan", { class: "sub", dx: 6 }, t);
        sub.textContent = u.codes.length ? u.codes.join(" ") : (u.http.length ? "http " + u.http.join(" ") : u.outcome);
        if (u.violated) { var b = el("text", { class: "bang", x: 7, y: l.y + l.h / 2 + 4 }, g); b.textContent = "!"; }
        g.setAttribute("data-tip", u.name + "  group " + (u.group + 1) + ", " + u.token +
          (u.entitled ? "" : " (not entitled)") + "\nclose codes: " + (u.codes.join(" ") || "none") +
          (u.http.length ? "\nrefused upgrades: " + u.http.join(" ") : "") + "\nfinished: " + (u.outcome || "no") +
          "\nclick: show only this user");
        g.addEventListener("click", function () { setQuery(u.name); });
      } else if (l.kind === "host") {
        g.setAttribute("data-tip", l.name + (l.clients ? ": all its users' events (density)" : ": this host's log lines for the shown users; shading: all users' activity"));
      } else {
        g.setAttribute("data-tip", "faults and startup windows, from the trace");
      }
    });

    // Cut-out stretches of idle time.
    var gBreak = el("g", {}, svgLanes);
    A.breaks.forEach(function (b) {
      el("rect", { class: "break", x: b[2] + 2, y: 0, width: b[3] - b[2] - 4, height: H, "data-tip": "idle " + fmt(b[0]) + " .. " + fmt(b[1]) + " (" + fmtSpan(b[1] - b[0]) + " cut out)" }, gBreak);
    });

    // Shaded windows: faults, startups, header stripping.
    var gWin = el("g", {}, svgLanes);
    var sim = L.lanes[0];
    D.windows.forEach(function (w, wi) {
      var x0 = x(w[0]), x1 = Math.max(x(w[1]), x0 + 2), c = cls(w[3]), text = cls(w[4]);
      var tipText = text + "\n" + fmt(w[0]) + " .. " + fmt(w[1]);
      w[2].forEach(function (h) {
        var targets = [L.byHost[h]];
        if (D.hosts[h][1]) Object.keys(L.byUser).forEach(function (u) { if (users[u].host === h) targets.push(L.byUser[u]); });
        targets.forEach(function (l) {
          if (l) el("rect", { class: "win " + c, x: x0, y: l.y, width: x1 - x0, height: l.h, "data-tip": tipText }, gWin);
        });
      });
      var by = sim.y + 3 + winRow[wi] * 13;
      el("rect", { class: "winbar " + c, x: x0, y: by, width: x1 - x0, height: 11, rx: 2, "data-tip": tipText, "data-window": wi }, gWin);
      if (x1 - x0 > 30) {
        var lt = el("text", { class: "winbar-label", x: x0 + 3, y: by + 9 }, gWin);
        lt.textContent = text.length * 5.5 > x1 - x0 ? text.slice(0, Math.max(1, Math.floor((x1 - x0) / 5.5) - 1)) + "…" : text;
      }
    });

    // Activity of every user on host rows: a density band, and open
    // gateway connections.
    var gDen = el("g", {}, svgLanes);
    function density(lane, times) {
      if (!lane || times.length === 0) return;
      var bin = 3, bins = new Map(), max = 1;
      times.forEach(function (t) { var k = Math.floor(x(t) / bin); var v = (bins.get(k) || 0) + 1; bins.set(k, v); if (v > max) max = v; });
      var d = "";
      Array.from(bins.keys()).sort(function (a, b) { return a - b; }).forEach(function (k) {
        var h = (lane.h - 4) * Math.sqrt(bins.get(k) / max);
        d += "M" + (k * bin) + "," + (lane.y + lane.h - 1) + "h" + bin + "v" + (-h.toFixed(1)) + "h" + (-bin) + "z";
      });
      el("path", { class: "density", d: d, "data-tip": lane.name + ": events of all users (max " + max + " per " + bin + "px)" }, gDen);
    }
    var perHost = {};
    D.host_marks.forEach(function (m) { (perHost[m[1]] = perHost[m[1]] || []).push(m[0]); });
    users.forEach(function (u) {
      var list = perHost[u.host] = perHost[u.host] || [];
      D.user_marks[u.i].forEach(function (m) { list.push(m[0]); });
    });
    Object.keys(L.byHost).forEach(function (h) { density(L.byHost[h], perHost[h] || []); });
    var gw = D.hosts.findIndex(function (h) { return h[0] === "gateway"; });
    if (gw >= 0 && L.byHost[gw] && D.gateway_open.length > 1) {
      var lane = L.byHost[gw], maxOpen = 1;
      D.gateway_open.forEach(function (p) { if (p[1] > maxOpen) maxOpen = p[1]; });
      var d = "", prevY = null;
      D.gateway_open.forEach(function (p) {
        var px = x(p[0]).toFixed(1), py = (lane.y + lane.h - 2 - (lane.h - 8) * p[1] / maxOpen).toFixed(1);
        d += prevY === null ? "M" + px + "," + py : "H" + px + "V" + py;
        prevY = py;
      });
      d += "H" + (W - 40);
      el("path", { class: "open-line", d: d, "data-tip": "open gateway connections (max " + maxOpen + ")" }, gDen);
    }

    // Spans on user lanes: connections, agent runs, backoffs.
    var gSpan = el("g", {}, svgLanes);
    Object.keys(L.byUser).forEach(function (u) {
      var l = L.byUser[u], mid = l.y + l.h / 2;
      D.user_spans[u].forEach(function (s) {
        var c = cls(s[2]), x0 = x(s[0]), x1 = Math.max(x(s[1]), x0 + 1);
        var t = cls(s[3]) + "\n" + fmt(s[0]) + " .. " + fmt(s[1]) + " (" + fmtSpan(s[1] - s[0]) + ")";
        if (c.indexOf("backoff") === 0) el("line", { class: "span backoff", x1: x0, x2: x1, y1: mid, y2: mid, "data-tip": t }, gSpan);
        else if (c.indexOf("run") === 0) el("rect", { class: "span " + c, x: x0, y: mid + 3, width: x1 - x0, height: 3, "data-tip": t }, gSpan);
        else el("rect", { class: "span " + c, x: x0, y: mid - 6, width: x1 - x0, height: 12, rx: 2, "data-tip": t }, gSpan);
      });
    });

    // Marks: host log lines (of shown users, and user-less), user events.
    var gMark = el("g", {}, svgLanes);
    function tipOf(t, text, extra) { return fmt(t) + "  " + text + (extra || ""); }
    D.sim.forEach(function (m) {
      var px = x(m[0]);
      el("path", { class: "mark fault", d: "M" + px + "," + (sim.y + sim.h - 2) + "l-4,-6h8z", "data-tip": tipOf(m[0], cls(m[2])) }, gMark);
      counts.marks++;
    });
    D.host_marks.forEach(function (m) {
      if (!(m[4] < 0 || m[4] in L.byUser)) return;
      var l = L.byHost[m[1]];
      if (!l) return;
      var c = cls(m[2]), px = x(m[0]);
      var who = m[4] >= 0 ? users[m[4]].name + "  " : "";
      el("line", { class: "tick " + c.replace(/^note ?/, ""), x1: px, x2: px, y1: l.y + 7, y2: l.y + l.h - 7, "data-tip": tipOf(m[0], who + cls(m[3])) }, gMark);
      counts.marks++;
    });
    var flagged = new Set(D.flags.map(function (f) { return f[1] + f[2] + "@" + f[0]; }));
    Object.keys(L.byUser).forEach(function (u) {
      var l = L.byUser[u], mid = l.y + l.h / 2;
      D.user_marks[u].forEach(function (m) {
        var c = cls(m[1]), px = x(m[0]);
        var t = tipOf(m[0], cls(m[2]), m.length > 3 ? "  seq=" + m[3] : "");
        if (c.indexOf("close") === 0 || c.indexOf("rejected") === 0) {
          el("path", { class: "mark " + c, d: "M" + px + "," + (mid - 6) + "l5,6l-5,6l-5,-6z", "data-tip": t }, gMark);
          // The code, unless a violation marker sits on this very close.
          if (!flagged.has("u" + u + "@" + m[0])) {
            var label = el("text", { class: "code-label " + c.split(" ").pop(), x: px + 7, y: mid + 4 }, gMark);
            var code = /closed (\d+)/.exec(cls(m[2])) || /HTTP (\d+)/.exec(cls(m[2]));
            label.textContent = code ? code[1] : "";
          }
        } else {
          el("circle", { class: "mark " + c, cx: px, cy: mid, r: c.indexOf("send") === 0 || c.indexOf("recv done") === 0 ? 3 : 2.2, "data-tip": t }, gMark);
        }
        counts.marks++;
      });
    });

    // Arrows: messages between lanes, for shown users.
    var gArrow = el("g", {}, svgLanes);
    function yOf(end, u) {
      var l = end < 0 ? L.byUser[u] : L.byHost[end];
      return l ? l.y + l.h / 2 : null;
    }
    D.arrows.forEach(function (a) {
      if (!(a[0] in L.byUser)) return;
      var y0 = yOf(a[1], a[0]), y1 = yOf(a[3], a[0]);
      if (y0 === null || y1 === null) return;
      var c = cls(a[5]), x0 = x(a[2]), x1 = x(a[4]);
      var t = fmt(a[2]) + " -> " + fmt(a[4]) + "  " + users[a[0]].name + "  " + cls(a[6]);
      el("line", { class: "arrow " + c, x1: x0, y1: y0, x2: x1, y2: y1 + (y1 > y0 ? -5 : 5), "marker-end": "url(#head" + head(c) + ")", "data-tip": t }, gArrow);
      counts.arrows++;
    });

    // Violations: a line across every lane and a marker on the lane.
    var gFlag = el("g", {}, svgLanes);
    var markers = [];
    D.flags.forEach(function (f, i) {
      var l = f[1] === "u" ? L.byUser[f[2]] : f[1] === "h" ? L.byHost[f[2]] : sim;
      var px = x(f[0]);
      var t = f[3] + " at " + fmt(f[0]) + (f[4] ? " " + f[4] : "") + " on " + f[5] + "\n" + f[6];
      el("line", { class: "violation-line", x1: px, x2: px, y1: 0, y2: H, "data-tip": t }, gFlag);
      if (!l) { markers.push(null); return; }
      var g = el("g", { class: "violation", id: "violation-" + i, "data-violation": i, "data-tip": t }, gFlag);
      var cy = l.y + l.h / 2;
      el("circle", { class: "violation-halo", cx: px, cy: cy, r: 10 }, g);
      el("circle", { class: "violation-marker", cx: px, cy: cy, r: 6 }, g);
      var lab = el("text", { class: "violation-label", x: px + 11, y: cy - 9 }, g);
      var code = /closed (\d+)/.exec(f[6]);
      lab.textContent = f[3] + (code ? " (" + code[1] + ")" : "");
      markers.push(g);
      counts.violations++;
    });

    // The axis: time labels and cut-out stretches.
    var span = Math.max(1, D.end);
    var active = T.length > 1 ? T[T.length - 1] - T[0] - A.breaks.reduce(function (s, b) { return s + b[1] - b[0]; }, 0) : span;
    var pxPerMs = Math.max(1e-6, (W - A.breaks.length * BREAK_W) / Math.max(1, active));
    var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000];
    var step = steps.find(function (s) { return s * pxPerMs >= 90; }) || 600000;
    var placed = [];
    function label(t) {
      var px = x(t);
      if (placed.some(function (p) { return Math.abs(p - px) < 58; })) return;
      placed.push(px);
      el("line", { class: "axis-tick", x1: px, x2: px, y1: AXIS_H - 6, y2: AXIS_H }, svgAxis);
      var tx = el("text", { class: "axis-label", x: px + 2, y: AXIS_H - 6 }, svgAxis);
      tx.textContent = fmt(t);
    }
    var segs = [], from = T[0];
    A.breaks.forEach(function (b) { segs.push([from, b[0]]); from = b[1]; });
    segs.push([from, T[T.length - 1]]);
    // Where a burst starts matters most, then instants, then round times.
    segs.forEach(function (sg) { if (sg[1] > sg[0]) label(sg[0]); });
    segs.forEach(function (sg) { label(sg[0]); });
    segs.forEach(function (sg) {
      for (var t = Math.ceil(sg[0] / step) * step; t < sg[1]; t += step) label(t);
    });
    A.breaks.forEach(function (b) {
      el("rect", { class: "break", x: b[2] + 2, y: 4, width: b[3] - b[2] - 4, height: AXIS_H - 22, "data-tip": "idle " + fmt(b[0]) + " .. " + fmt(b[1]) + ": " + fmtSpan(b[1] - b[0]) + " cut out" }, svgAxis);
      var tx = el("text", { class: "break-label", x: b[2] + 4, y: 14 }, svgAxis);
      tx.textContent = breakLabel(b[1] - b[0]);
    });
    corner.textContent = "simulated time \u2192";

    var status = document.getElementById("lane-status");
    status.textContent = m.sampled
      ? (m.list.length < users.length ? m.list.length + " of " + users.length + " users shown (a sample: violations and unusual users first); filter to see any user" : users.length + " users")
      : m.total + " users match" + (m.total > m.list.length ? ", first " + m.list.length + " shown" : "");
    var body = document.body;
    body.setAttribute("data-lanes", L.lanes.length);
    body.setAttribute("data-users", m.list.length);
    body.setAttribute("data-arrows", counts.arrows);
    body.setAttribute("data-marks", counts.marks);
    body.setAttribute("data-violations", counts.violations);
    body.setAttribute("data-width", Math.round(W));
    body.setAttribute("data-rendered", "ok");
    return markers;
  }

  var markers = [];
  function draw() { markers = render(); }
  function focus(i) {
    var g = markers[i];
    if (!g) return;
    markers.forEach(function (m) { if (m) m.classList.remove("focus"); });
    var c = g.querySelector("circle");
    var cx = +c.getAttribute("cx"), cy = +c.getAttribute("cy");
    scroller.scrollLeft = Math.max(0, cx + LABEL_W - scroller.clientWidth / 2);
    scroller.scrollTop = Math.max(0, cy + AXIS_H - scroller.clientHeight / 2);
    g.classList.add("focus");
    var r = g.getBoundingClientRect(), v = scroller.getBoundingClientRect();
    var inView = r.left >= v.left + LABEL_W - 12 && r.right <= v.right + 12 && r.top >= v.top + AXIS_H - 12 && r.bottom <= v.bottom + 12;
    document.body.setAttribute("data-focus", g.id);
    document.body.setAttribute("data-focus-in-view", inView ? "yes" : "no");
  }
  function remember() {
    try { history.replaceState(null, "", state.query ? "#filter=" + encodeURIComponent(state.query) : location.pathname); } catch (e) { /* file: URLs may refuse */ }
  }
  function setQuery(q) {
    document.getElementById("filter").value = q;
    state.query = q;
    remember();
    draw();
  }

  var timer = null;
  document.getElementById("filter").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.query = e.target.value; state.fitted = false; remember(); draw(); }, 120);
  });
  function rezoom(k) {
    var cx = scroller.scrollLeft + scroller.clientWidth / 2;
    state.scale *= k; state.gap = Math.min(80, Math.max(0.5, state.gap * k));
    draw();
    scroller.scrollLeft = cx * k - scroller.clientWidth / 2;
  }
  document.getElementById("zoom-in").addEventListener("click", function () { rezoom(1.6); });
  document.getElementById("zoom-out").addEventListener("click", function () { rezoom(1 / 1.6); });
  document.getElementById("zoom-fit").addEventListener("click", function () { state.fitted = false; draw(); });
  Array.prototype.forEach.call(document.querySelectorAll(".violation-row"), function (row) {
    row.addEventListener("click", function () {
      var i = +row.getAttribute("data-violation"), f = D.flags[i];
      if (f && f[1] === "u" && !markers[i]) setQuery(users[f[2]].name);
      focus(i);
    });
  });
  document.addEventListener("mousemove", function (e) {
    var t = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!t) { tip.hidden = true; return; }
    tip.textContent = t.getAttribute("data-tip");
    tip.hidden = false;
    var left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var top = e.clientY + 16 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 10 : e.clientY + 16;
    tip.style.left = left + "px"; tip.style.top = top + "px";
  });

  document.getElementById("filter").value = state.query;
  draw();
  if (D.flags.length) focus(0);
})();
