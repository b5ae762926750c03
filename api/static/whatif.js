/* The planning page (/planering): move, add or remove a unit's bases and see its 30-minute reach and the coverage of
 * its approved areas change. Talks only to this origin (GET /v1/providers, /v1/areas, /v1/areas/{id}; POST
 * /v1/whatif) and stores nothing unless a contract manager saves the changes as a scenario (POST /v1/scenarios, with
 * a token kept in this closure only); /planering?scenario=ID opens a saved one (GET /v1/scenarios/{id}). Every map
 * action has a keyboard way: the base list and the "move" form.
 * While a base is dragged the polygon follows it: one request at a time (POST /v1/whatif?parts=polygon, no audit),
 * the latest position sent when the one before is answered; the drop cancels a preview still in flight
 * (AbortController) and asks for the full answer. A base placed more than the server's distance from a road is kept
 * only when the user confirms it.
 * performance.measure("whatif") spans each change (drop, arrow key, form) to the redrawn polygon (bench_whatif.py,
 * bench_drag.py); performance.mark("whatif-preview") marks each polygon drawn while dragging (bench_drag.py).
 * Every text it shows is the catalogue's (core/words.yaml), sent in the page (#facts) with the labels and limits; this
 * script writes no sentence of its own, only numbers in Swedish form. */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  // Texts, labels and limits come with the page (#facts, as GET /v1/planning/page gives them: the catalogue
  // core/words.yaml, the what-if limits), so the page has its words before it asks the server anything.
  const FACTS = JSON.parse($("facts").textContent);
  // The controls work only with JavaScript: without it they stay hidden, and the page offers its links instead.
  for (const part of document.querySelectorAll("[data-needs-js]")) part.hidden = false;
  const TEXT = FACTS.texts; // the page's sentences, key → text; a {name} left in one is filled by t()
  const MAX_CHANGES = FACTS.max_changes;
  const MAX_NAME = FACTS.max_name;
  const KM_PER_DEG_LAT = 110.574;
  const VERDICT = FACTS.labels.verdict;
  const VERDICT_MARK = { supported: "✓", "at risk": "⚠", unsupported: "✗" };
  const PRECISION = FACTS.labels.base_known;
  const PROFILE_NAME = FACTS.labels.profile_long;
  const DIRS = { ArrowUp: "n", ArrowDown: "s", ArrowLeft: "w", ArrowRight: "e" };

  /* The catalogue text ``key`` with each {name} of ``params`` filled in (a value filled in is never read again). */
  function t(key, params = {}) {
    return (TEXT[key] || "").replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  }

  /* The same as a list of strings and nodes to append: a param may be an element (a link). */
  function tNodes(key, params = {}) {
    return (TEXT[key] || "").split(/(\{\w+\})/).filter((part) => part !== "").map((part) => {
      const k = /^\{(\w+)\}$/.exec(part);
      if (!k || !(k[1] in params)) return part;
      const v = params[k[1]];
      return v instanceof Node ? v : String(v);
    });
  }

  let units = [];
  const areaNames = new Map();
  const areaLayers = new Map();
  let unit = null;
  let moves = new Map(); // base index → {lat, lon}
  let adds = []; // [{lat, lon}]
  let removes = new Set(); // base indices
  let inflight = null; // the request being answered: {controller, preview, version}
  let pending = null; // what to ask once it is answered: "full" or "preview"
  let version = 0; // bumped by every change; an answer for an older version is drawn, not shown as final
  let drawnCount = 0;
  let dragging = null; // {key, lat, lon} while a base is dragged
  let lastBefore = null; // today's polygon, from the last full answer
  let burstStart = null; // the state before the first change no final answer has confirmed yet
  const confirmed = new Set(); // positions ("lat,lon") the user chose to keep though far from a road
  let held = null; // a final answer waiting for the far-from-road question
  let changedAt = null; // performance.now() of the change the next answer answers
  let snaps = new Map(); // key → {snap_m, far_from_road} from the last answer
  let L = null;
  let map = null;
  let areaGroup = null;
  let reachGroup = null;
  let baseGroup = null;
  let adding = false;

  // ---- state ----

  const keyOf = (kind, i) => kind + i;
  const indexOf = (key) => Number(key.slice(1));

  function currentKeys() {
    const keys = unit.bases.map((_, i) => keyOf("b", i)).filter((k) => !removes.has(indexOf(k)));
    return keys.concat(adds.map((_, i) => keyOf("a", i)));
  }

  function position(key) {
    const i = indexOf(key);
    if (key[0] === "a") return adds[i];
    return moves.get(i) || { lat: unit.bases[i].lat, lon: unit.bases[i].lon };
  }

  function baseName(name) {
    return String(name || "").replace(/\s*\((?:guess|gissning)\)\s*$/, "");
  }

  function label(key) {
    const i = indexOf(key);
    return key[0] === "a" ? t("base_new", { n: i + 1 }) : t("base_named", { n: i + 1, name: baseName(unit.bases[i].name) });
  }

  function markText(key) {
    return key[0] === "a" ? "+" + (indexOf(key) + 1) : String(indexOf(key) + 1);
  }

  function markClass(key) {
    if (key[0] === "a") return "mk-new";
    return moves.has(indexOf(key)) ? "mk-moved" : "mk-base";
  }

  const changeCount = () => moves.size + adds.length + removes.size;

  function snapshot() {
    return { moves: new Map(moves), adds: adds.map((p) => ({ ...p })), removes: new Set(removes) };
  }

  function restore(s) {
    moves = s.moves;
    adds = s.adds;
    removes = s.removes;
  }

  function body() {
    const mv = new Map(moves);
    const ad = adds.map((p) => ({ lat: p.lat, lon: p.lon }));
    if (dragging) {
      const i = indexOf(dragging.key);
      if (dragging.key[0] === "a") ad[i] = { lat: dragging.lat, lon: dragging.lon };
      else mv.set(i, { lat: dragging.lat, lon: dragging.lon });
    }
    const out = {
      unit: unit.id,
      move: [...mv].map(([base, p]) => ({ base, lat: p.lat, lon: p.lon })),
      add: ad,
      remove: [...removes],
    };
    if ($("profile").value) out.profile = $("profile").value;
    if ($("day").value) out.date = $("day").value;
    return out;
  }

  /* What the answer rests on, in one line (the day of the approvals and the traffic profile), and the report links
   * for the same day and profile. */
  function showBasis(data) {
    $("profile").value = data.profile;
    $("basis").textContent = t("basis", { date: data.date, profile: PROFILE_NAME[data.profile] || data.profile });
    const query = new URLSearchParams();
    if ($("day").value) query.set("date", $("day").value);
    if ($("profile").value && $("profile").value !== defaultProfile) query.set("map_profile", $("profile").value);
    const q = query.toString() ? "?" + query.toString() : "";
    $("report-unit").href = "/v1/reports/" + encodeURIComponent(unit.id) + q;
    $("report-county").href = "/v1/reports/county" + q;
  }
  let defaultProfile = null;

  /* Apply a change (``mutate`` edits the state), redraw the bases, and ask the server at once; a change the server
   * refuses is undone. */
  function change(mutate) {
    const before = snapshot();
    mutate();
    if (changeCount() > MAX_CHANGES) {
      restore(before);
      showError(t("error_too_many") + " " + t("undo_first"));
      refreshBases();
      return;
    }
    clearError();
    hideFar();
    leaveScenario();
    changedAt = performance.now();
    version++;
    refreshBases();
    if (!burstStart) burstStart = before;
    compute();
  }

  function setPosition(key, lat, lon) {
    lat = round6(lat);
    lon = round6(lon);
    change(() => {
      const i = indexOf(key);
      if (key[0] === "a") {
        adds[i] = { lat, lon };
        return;
      }
      const o = unit.bases[i];
      if (Math.abs(o.lat - lat) < 1e-7 && Math.abs(o.lon - lon) < 1e-7) moves.delete(i);
      else moves.set(i, { lat, lon });
    });
  }

  const round6 = (x) => Math.round(x * 1e6) / 1e6;

  // ---- talking to the server ----

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" }, referrerPolicy: "no-referrer" });
    if (!resp.ok) throw Object.assign(new Error("HTTP " + resp.status), { status: resp.status });
    return resp.json();
  }

  /* Why the server refused a change, as the catalogue key that says it (its ``detail`` is English, for programs);
   * null when the page has no words for it. */
  function refusal(status, detail) {
    if (status === 0) return "error_network";
    if (status === 404) return "error_unknown_unit";
    if (status === 422 && /outside stockholm county/i.test(detail)) return "error_outside";
    if (status === 422 && /at most/i.test(detail)) return "error_too_many";
    if (status === 422 && /no base left/i.test(detail)) return "error_no_base_left";
    if (status === 422 && /WGS84|latitude|longitude/i.test(detail)) return "error_coords";
    return null;
  }

  const UNDONE = new Set(["error_outside", "error_too_many", "error_coords"]); // refusals that say the change is undone

  function changeError(status, detail) {
    const key = refusal(status, detail);
    if (!key) return t("error_change_failed", { status });
    return UNDONE.has(key) ? t(key) + " " + t("change_undone") : t(key);
  }

  /* Ask for the answer to the page's state: the full one, or (``preview``, while a base is dragged) the polygon only.
   * One request at a time: while one is answered, the latest wish waits in ``pending``; a full request cancels a
   * preview in flight (it is stale once the base is dropped). */
  function compute(preview = false) {
    if (dragging) preview = true; // mid-drag, only the polygon: the table waits for the drop
    if (inflight) {
      if (inflight.preview && !preview) {
        inflight.controller.abort();
        inflight = null;
        pending = null; // the previews still wanted are stale too
      } else {
        pending = pending === "full" || !preview ? "full" : "preview";
        return;
      }
    }
    send(preview);
  }

  const post = (text, preview, signal) => fetch("/v1/whatif" + (preview ? "?parts=polygon" : ""), {
    method: "POST", body: text, signal, referrerPolicy: "no-referrer",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
  });

  /* Beside a full request, the polygon alone (the server computes it while it audits): the map is redrawn as soon
   * as it is known, the table when the full answer comes. */
  async function sendCompanion(req, text) {
    req.companion = new AbortController();
    try {
      const resp = await post(text, true, req.companion.signal);
      if (!resp.ok) return;
      const data = await resp.json();
      if (req.done || req.version !== version || inflight !== req) return;
      drawReach(data);
      req.drawn = true;
      markDrawn(req.started);
    } catch (e) { /* cancelled, or the full answer says what went wrong */ }
  }

  async function send(preview) {
    const req = { controller: new AbortController(), preview, version, started: changedAt };
    const started = changedAt;
    const text = JSON.stringify(body());
    inflight = req;
    busy(true);
    if (!preview && unit && (moves.size || adds.length)) sendCompanion(req, text);
    let resp = null;
    let data = null;
    let detail = "";
    try {
      resp = await post(text, preview, req.controller.signal);
      if (resp.ok) data = await resp.json();
      else {
        try { detail = String((await resp.json()).detail || ""); } catch (e) { /* not JSON */ }
      }
    } catch (e) {
      if (e && e.name === "AbortError") return; // cancelled: a newer request took its place
      resp = null;
    }
    req.done = true;
    if (req.companion) req.companion.abort();
    if (inflight !== req) return;
    inflight = null;
    const next = pending;
    pending = null;
    const final = !preview && req.version === version && !next;
    if (final) answered(data, resp ? resp.status : 0, detail, req.drawn ? null : started, started);
    else if (data && (!preview || dragging)) drawPreview(data); // on the way: the polygon follows, the table waits
    if (next) compute(next === "preview");
    busy(inflight !== null);
  }

  /* The final answer to the page's state: shown, held for the far-from-road question, or (refused) undone. */
  function answered(data, status, detail, started, changed) {
    if (!data) {
      const back = burstStart;
      burstStart = null;
      if (back) {
        restore(back);
        version++;
        refreshBases();
        syncForm(true);
      }
      showError(changeError(status, detail));
      if (back && status !== 0) compute(); // redraw the state the page is back to
      return;
    }
    const far = data.bases.filter((b) => b.change && b.far_from_road && !confirmed.has(b.lat + "," + b.lon));
    if (far.length && burstStart) {
      askFar(data, far, started);
      return;
    }
    burstStart = null;
    render(data, started);
    try {
      performance.measure("whatif-answer", { start: changed, end: performance.now() });
    } catch (e) { /* old browser */ }
  }

  function drawPreview(data) {
    drawReach(data);
    markDrawn(null);
    try { performance.mark("whatif-preview"); } catch (e) { /* old browser */ }
  }

  /* Ask before placing a base far from a road: the distance from the server's answer, keep it or undo. */
  function askFar(data, far, started) {
    held = { data, far };
    const box = $("far");
    const m = Math.max(...far.map((b) => b.snap_m));
    $("far-text").textContent = t("far_question", { m: people(Math.round(m)) });
    box.hidden = false;
    drawReach(data);
    markDrawn(started); // the answer is on the map, as a question
    // Focus goes to the question, except from the arrow pad: the next press must still move the base.
    if (!$("nudge").contains(document.activeElement)) $("far-heading").focus();
  }

  function hideFar() {
    held = null;
    $("far").hidden = true;
  }

  $("far-place").addEventListener("click", () => {
    if (!held) return;
    const { data, far } = held;
    for (const b of far) confirmed.add(b.lat + "," + b.lon);
    hideFar();
    burstStart = null;
    render(data, null);
    $("bases-heading").focus();
  });

  $("far-undo").addEventListener("click", () => {
    if (!held) return;
    hideFar();
    const back = burstStart;
    burstStart = null;
    if (back) {
      restore(back);
      version++;
      changedAt = performance.now();
      refreshBases();
      syncForm(true);
      compute();
    }
    $("bases-heading").focus();
  });

  function busy(on) {
    $("busy").hidden = !on;
    $("coverage-box").setAttribute("aria-busy", on ? "true" : "false");
  }

  function showError(text) {
    const box = $("error");
    box.textContent = t("error", { message: text });
    box.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // ---- the answer ----

  // One decimal, floored (as every output: 94.97 % shows 94,9 %, never rounded over a verdict threshold).
  const pct = (share) => (Math.floor(share * 1000 + 1e-9) / 10).toFixed(1).replace(".", ",") + "\u00a0%";
  const people = (n) => Number(n).toLocaleString("sv-SE");

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function markDrawn(started) {
    const n = ++drawnCount;
    const drawn = () => {
      $("map-box").dataset.drawn = String(n);
      if (typeof started === "number") {
        try {
          performance.measure("whatif", { start: started, end: performance.now() });
        } catch (e) { /* an old browser without measure options */ }
      }
    };
    if (map) requestAnimationFrame(drawn);
    else drawn();
  }

  function render(data, started) {
    snaps = new Map();
    let added = 0;
    for (const b of data.bases) {
      const key = b.index === null ? keyOf("a", added++) : keyOf("b", b.index);
      snaps.set(key, b);
    }
    refreshWarnings();
    if (defaultProfile === null) defaultProfile = data.profile;
    showBasis(data);
    renderTable(data);
    announce(data);
    const after = data.polygon.properties;
    const before = data.before_polygon.properties;
    $("reach").textContent = data.changes
      ? t("reach_changed", { people: people(after.population), km2: people(Math.round(after.area_km2)),
        people_before: people(before.population), km2_before: people(Math.round(before.area_km2)) })
      : t("reach_today", { people: people(before.population), km2: people(Math.round(before.area_km2)) });
    const others = data.reaches_not_approved.filter((r) => r.after && r.after.verdict === "reaches, not approved");
    $("others").hidden = others.length === 0;
    $("others").textContent = others.length
      ? t("others", { areas: others.map((r) => t("others_area", { id: r.area_id, name: r.area_name,
        share: pct(r.after.population_share) })).join(", ") })
      : "";
    lastBefore = data.before_polygon;
    drawReach(data);
    markDrawn(started);
  }

  /* What each figure means, under the table: in the page as sent (the catalogue's sentences), shown with the table. */
  function showExplain() {
    $("explain-box").hidden = false;
  }

  function announce(data) {
    const parts = data.rows.filter((r) => r.approved && r.after).map((r) => {
      const share = data.changes && r.before
        ? `${pct(r.before.population_share)} → ${pct(r.after.population_share)}`
        : pct(r.after.population_share);
      return t("announce_row", { id: r.area_id, share, verdict: VERDICT[r.after.verdict] || r.after.verdict });
    });
    const head = data.changes ? "" : t("announce_today", { unit: data.unit_name }) + " ";
    $("announce").textContent = head + (parts.length ? parts.join(" ") : t("announce_none"));
  }

  // For screen readers, around the arrow of a before → after pair.
  const SR_TODAY = t("sr_today") + " ";
  const SR_AFTER = ", " + t("sr_after") + " ";

  function pair(before, after, fmt, cls) {
    const v = el("span", { className: "v" });
    if (before !== null && before !== undefined) {
      v.append(el("span", { className: "sr", text: SR_TODAY }), el("span", { className: "before", text: fmt(before) }),
        el("span", { "aria-hidden": "true", text: " → " }), el("span", { className: "sr", text: SR_AFTER }));
    }
    const a = el("span", { className: "after" + (cls ? " " + cls : ""), text: after === null ? "–" : fmt(after) });
    v.append(a);
    return v;
  }

  function verdictSpan(v) {
    const cls = v === "supported" ? "supported" : v === "at risk" ? "at-risk" : v === "unsupported" ? "unsupported" : "";
    const mark = VERDICT_MARK[v] ? VERDICT_MARK[v] + " " : "";
    return el("span", { className: "verdict " + cls, text: mark + (VERDICT[v] || v) });
  }

  const upMinutes = (s) => (s === null || s === undefined ? "–" : String(Math.ceil(s / 60)));
  const timesText = (side) => `${upMinutes(side.drive_time_p50_s)} / ${upMinutes(side.drive_time_p90_s)} min`;

  function renderTable(data) {
    const tbody = $("coverage").querySelector("tbody");
    tbody.textContent = "";
    for (const r of data.rows.filter((x) => x.approved)) {
      const b = data.changes ? r.before || null : null; // without changes, one figure per cell
      const a = r.after || null;
      const tr = el("tr", { "data-area": String(r.area_id) });
      tr.append(el("th", { scope: "row", text: t("area_row", { id: r.area_id, name: r.area_name }) }));
      const cells = [
        [t("term_population"), "population_share", pct, "pop"],
        [t("term_land"), "land_share", pct, "land"],
        [t("term_roads"), "road_share", pct, "roads"],
      ];
      for (const [name, field, fmt, cls] of cells) {
        const td = el("td", { "data-label": name, className: cls });
        td.append(pair(b && b[field], a ? a[field] : null, fmt));
        tr.append(td);
      }
      const vd = el("td", { "data-label": t("term_verdict"), className: "verdict-cell" });
      const v = el("span", { className: "v" });
      if (b) {
        v.append(el("span", { className: "sr", text: SR_TODAY }), verdictSpan(b.verdict),
          el("span", { "aria-hidden": "true", text: " → " }), el("span", { className: "sr", text: SR_AFTER }));
      }
      if (a) v.append(verdictSpan(a.verdict));
      vd.append(v);
      tr.append(vd);
      // Why the verdict is what it is: half and nine in ten of the area's people are reached within these times.
      const times = el("td", { "data-label": t("term_times"), className: "times" });
      times.append(pair(b && timesText(b), a ? timesText(a) : null, (x) => x));
      tr.append(times);
      const gap = el("td", { "data-label": t("term_gap"), className: "gap" });
      gap.append(pair(b && b.gap_population, a ? a.gap_population : null, people));
      tr.append(gap);
      tbody.append(tr);
    }
  }

  // ---- the base list and the keyboard form ----

  function refreshBases() {
    const hadFocus = $("bases").contains(document.activeElement) ? document.activeElement.closest("li") : null;
    const focusKey = hadFocus ? hadFocus.dataset.key : null;
    renderBaseList();
    renderTargets();
    drawMarkers();
    $("changes-count").textContent = t("changes_count", { n: changeCount() });
    $("reset").disabled = changeCount() === 0;
    if (hadFocus) {
      const li = focusKey && $("bases").querySelector(`li[data-key="${focusKey}"] button`);
      (li || $("bases-heading")).focus();
    }
  }

  function renderBaseList() {
    const list = $("bases");
    list.textContent = "";
    unit.bases.forEach((b, i) => {
      const key = keyOf("b", i);
      const removed = removes.has(i);
      const li = el("li", { "data-key": key });
      li.append(el("span", { className: "mk " + (removed ? "mk-gone" : markClass(key)), "aria-hidden": "true", text: markText(key) }));
      const name = el("span", { className: "name", text: label(key) });
      const p = position(key);
      const where = removed ? "" : `${coord(p.lat)}, ${coord(p.lon)} · ${moves.has(i) ? t("new_place") : PRECISION[b.precision] || b.precision}`;
      if (where) name.append(el("span", { className: "where", text: where }));
      name.append(el("span", { className: "warn", "data-warn": key }));
      li.append(name);
      if (removed) {
        li.append(el("span", { className: "tag", text: t("tag_removed") }));
        li.append(button(t("undo"), t("undo_remove", { n: i + 1 }), () => change(() => removes.delete(i))));
      } else {
        if (moves.has(i)) {
          li.append(el("span", { className: "tag", text: t("tag_moved") }));
          li.append(button(t("undo"), t("undo_move", { n: i + 1 }), () => change(() => moves.delete(i))));
        }
        li.append(button(t("remove"), t("remove_base", { n: i + 1 }), () => removeBase(i)));
      }
      list.append(li);
    });
    adds.forEach((p, i) => {
      const key = keyOf("a", i);
      const li = el("li", { "data-key": key });
      li.append(el("span", { className: "mk mk-new", "aria-hidden": "true", text: markText(key) }));
      const name = el("span", { className: "name", text: label(key) });
      name.append(el("span", { className: "where", text: `${coord(p.lat)}, ${coord(p.lon)}` }));
      name.append(el("span", { className: "warn", "data-warn": key }));
      li.append(name, el("span", { className: "tag", text: t("tag_new") }));
      li.append(button(t("remove"), t("remove_new", { n: i + 1 }), () => change(() => adds.splice(i, 1))));
      list.append(li);
    });
    refreshWarnings();
  }

  function refreshWarnings() {
    for (const node of document.querySelectorAll("[data-warn]")) {
      const s = snaps.get(node.dataset.warn);
      node.textContent = s && s.far_from_road ? t("far_kept", { m: people(Math.round(s.snap_m)) }) : "";
    }
  }

  function removeBase(i) {
    if (currentKeys().length === 1) {
      showError(t("keep_one_base"));
      return;
    }
    change(() => {
      removes.add(i);
      moves.delete(i);
    });
  }

  /* A button: its ``text``, and for screen readers what it acts on (``srText``: "Undo" + " the move of base 1"). */
  function button(text, srText, onClick) {
    const b = el("button", { type: "button" }, [text]);
    if (srText) b.append(el("span", { className: "sr", text: " " + srText }));
    b.addEventListener("click", onClick);
    return b;
  }

  const coord = (x) => x.toFixed(5).replace(".", ",");

  function renderTargets() {
    const select = $("target");
    const old = select.value;
    select.textContent = "";
    for (const key of currentKeys()) select.append(el("option", { value: key, text: label(key) }));
    select.append(el("option", { value: "new", text: t("target_new") }));
    select.value = [...select.options].some((o) => o.value === old) ? old : select.options[0].value;
    syncForm();
  }

  function syncForm(force = false) {
    const key = $("target").value;
    const isNew = key === "new";
    $("apply").textContent = t(isNew ? "apply_add" : "apply_move");
    for (const b of $("nudge").querySelectorAll("button")) b.disabled = isNew;
    const typing = [$("lat"), $("lon")].includes(document.activeElement);
    if (isNew || (typing && !force)) return;
    const p = position(key);
    $("lat").value = coord(p.lat);
    $("lon").value = coord(p.lon);
    for (const id of ["lat", "lon"]) $(id).removeAttribute("aria-invalid");
    $("coords-error").hidden = true;
    for (const [k, m] of markerMap) {
      const node = m.getElement && m.getElement();
      if (node) node.classList.toggle("selected", k === key);
    }
  }

  function parseCoord(text) {
    const t = String(text || "").trim().replace(",", ".");
    return /^[-+]?\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
  }

  function coordsError(text) {
    const err = $("coords-error");
    err.textContent = text;
    err.hidden = false;
    for (const id of ["lat", "lon"]) {
      $(id).setAttribute("aria-invalid", "true");
      $(id).setAttribute("aria-describedby", "coords-error coords-hint");
    }
    $("lat").focus();
  }

  $("move-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const lat = parseCoord($("lat").value);
    const lon = parseCoord($("lon").value);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      coordsError(t("coords_invalid"));
      return;
    }
    $("coords-error").hidden = true;
    for (const id of ["lat", "lon"]) {
      $(id).removeAttribute("aria-invalid");
      $(id).setAttribute("aria-describedby", "coords-hint");
    }
    const key = $("target").value;
    if (key === "new") {
      change(() => adds.push({ lat: round6(lat), lon: round6(lon) }));
      $("target").value = keyOf("a", adds.length - 1);
      syncForm(true);
    } else {
      setPosition(key, lat, lon);
      syncForm(true);
    }
  });

  $("target").addEventListener("change", () => syncForm(true));

  function nudge(dir, km) {
    const key = $("target").value;
    if (!key || key === "new") return;
    const p = position(key);
    const dLat = km / KM_PER_DEG_LAT;
    const dLon = km / (111.32 * Math.cos((p.lat * Math.PI) / 180));
    const lat = p.lat + (dir === "n" ? dLat : dir === "s" ? -dLat : 0);
    const lon = p.lon + (dir === "e" ? dLon : dir === "w" ? -dLon : 0);
    setPosition(key, lat, lon);
    syncForm(true);
  }

  $("nudge").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-dir]");
    if (b) nudge(b.dataset.dir, 1);
  });
  $("nudge").addEventListener("keydown", (ev) => {
    const dir = DIRS[ev.key];
    if (!dir || !ev.target.closest("button")) return;
    ev.preventDefault();
    nudge(dir, ev.shiftKey ? 5 : 1);
  });

  $("reset").addEventListener("click", () => {
    change(() => {
      moves = new Map();
      adds = [];
      removes = new Set();
    });
    $("bases-heading").focus();
  });

  // ---- the map (optional: the list and the form do everything it does) ----

  const markerMap = new Map();

  function mapFailed() {
    $("map-box").classList.add("failed");
    $("map-note").hidden = false;
    $("map-note").textContent = t("map_failed");
  }

  function initMap() {
    L = window.L;
    if (!L || typeof L.map !== "function") {
      mapFailed();
      return;
    }
    map = L.map("map", { zoomControl: false, attributionControl: true, scrollWheelZoom: false, keyboard: true });
    L.control.zoom({ zoomInTitle: t("zoom_in"), zoomOutTitle: t("zoom_out") }).addTo(map);
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(t("map_attribution"));
    areaGroup = L.layerGroup().addTo(map);
    if (window.asihBasemap) window.asihBasemap(map); // water, main roads and place names (/static/basemap.js)
    reachGroup = L.layerGroup().addTo(map);
    baseGroup = L.layerGroup().addTo(map);
    // The view's bounds (south, west, north, east), for tests and the benchmark that drag a base to a place.
    map.on("moveend", () => {
      const b = map.getBounds();
      $("map").dataset.view = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map((x) => x.toFixed(6)).join(",");
    });
    map.setView([59.33, 18.06], 9);
    map.on("click", (ev) => {
      if (!adding) return;
      setAdding(false);
      const { lat, lng } = ev.latlng;
      change(() => adds.push({ lat: round6(lat), lon: round6(lng) }));
    });
  }

  function setAdding(on) {
    adding = on;
    $("add-mode").setAttribute("aria-pressed", on ? "true" : "false");
    $("map").classList.toggle("adding", on);
  }

  $("add-mode").addEventListener("click", () => setAdding(!adding));
  $("skip-map").addEventListener("click", (ev) => {
    ev.preventDefault();
    $("bases-heading").focus();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && adding) setAdding(false);
  });

  function tooltip(text) {
    return el("span", { text });
  }

  function drawMarkers() {
    if (!map) return;
    baseGroup.clearLayers();
    markerMap.clear();
    for (const key of currentKeys()) {
      const p = position(key);
      const name = key[0] === "b" && moves.has(indexOf(key)) ? t("marker_moved", { name: label(key) }) : label(key);
      const m = L.marker([p.lat, p.lon], {
        icon: L.divIcon({ className: "mk " + markClass(key), html: markText(key), iconSize: [28, 28] }),
        draggable: true, keyboard: false, title: "", riseOnHover: true, autoPan: true,
      });
      m.on("add", () => {
        const node = m.getElement();
        node.setAttribute("role", "img");
        node.setAttribute("aria-label", name);
        node.dataset.key = key;
        node.classList.toggle("selected", $("target").value === key);
      });
      m.on("drag", () => {
        const ll = m.getLatLng();
        dragging = { key, lat: round6(ll.lat), lon: round6(ll.lng) };
        compute(true);
      });
      m.on("dragend", () => {
        dragging = null;
        const ll = m.getLatLng();
        if ($("target").value !== key) $("target").value = key;
        setPosition(key, ll.lat, ll.lng);
        syncForm(true);
      });
      m.bindTooltip(tooltip(name), { direction: "top", offset: [0, -14] });
      m.addTo(baseGroup);
      markerMap.set(key, m);
    }
  }

  function areaStyle(approved) {
    return approved
      ? { color: "#005f96", weight: 3, dashArray: "6 4", fillOpacity: 0 }  // outlined, not filled: a light fill reads as water
      : { color: "#6e7781", weight: 1, fillOpacity: 0, dashArray: null };
  }

  function styleAreas() {
    for (const [id, layer] of areaLayers) layer.setStyle(areaStyle(unit && unit.areas.includes(id)));
  }

  async function loadAreas(ids) {
    if (!map) return;
    await Promise.all(ids.map(async (id) => {
      try {
        const f = await getJSON("/v1/areas/" + encodeURIComponent(id));
        const layer = L.geoJSON(f, { style: areaStyle(unit && unit.areas.includes(id)), interactive: false });
        layer.addTo(areaGroup);
        areaLayers.set(id, layer);
      } catch (e) { /* the background is optional */ }
    }));
  }

  function frame() {
    if (!map) return;
    const bounds = L.latLngBounds([]);
    for (const id of unit.areas) if (areaLayers.has(id)) bounds.extend(areaLayers.get(id).getBounds());
    for (const key of currentKeys()) bounds.extend([position(key).lat, position(key).lon]);
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12, animate: false });
  }

  function drawReach(data) {
    if (!map) return;
    reachGroup.clearLayers();
    L.geoJSON(data.polygon, {
      style: { color: "#b84a00", weight: 2, fillColor: "#E69F00", fillOpacity: 0.3 }, interactive: false,
    }).addTo(reachGroup);
    const before = data.before_polygon || lastBefore;
    if (data.changes && before) {
      L.geoJSON(before, {
        style: { color: "#1b1f23", weight: 2, dashArray: "4 4", fill: false }, interactive: false,
      }).addTo(reachGroup);
    }
  }


  // ---- saved scenarios: open one by its link, save the current changes ----

  const SAVE_MESSAGES = { 401: "token_invalid", 403: "token_not_allowed", 404: "error_unknown_unit", 413: "too_much_text" };
  let token = null; // the registry token: in this closure only, never in storage, cookies, the URL or the DOM

  function localTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return d.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" });
  }

  /* Show saved scenario ``id`` (from /planering?scenario=ID) as the page's changes. Returns null when shown, else
   * why not (the page then shows the first unit today and says so). */
  async function openScenario(id) {
    if (!/^[1-9][0-9]{0,9}$/.test(id)) {
      return t("scenario_bad_link");
    }
    let s;
    try {
      s = await getJSON("/v1/scenarios/" + id);
    } catch (e) {
      return e.status === 404 ? t("scenario_missing", { id }) : t("scenario_failed");
    }
    const w = s.whatif;
    if (!units.some((u) => u.id === w.unit)) {
      return t("scenario_unit_gone", { id: s.id });
    }
    $("unit").value = w.unit;
    $("profile").value = w.profile;
    $("day").value = w.date;
    for (const p of [...w.move, ...w.add]) confirmed.add(p.lat + "," + p.lon); // chosen when it was saved
    selectUnit(w.unit, {
      moves: new Map(w.move.map((m) => [m.base, { lat: m.lat, lon: m.lon }])),
      adds: w.add.map((p) => ({ lat: p.lat, lon: p.lon })),
      removes: new Set(w.remove),
    });
    const note = $("scenario-note");
    const pdf = el("a", { href: s.report, download: "", text: t("scenario_pdf") });
    note.textContent = "";
    note.append(...tNodes("scenario_shown", { id: s.id, name: s.name, by: s.saved_by, when: localTime(s.saved_at),
      date: w.date, profile: PROFILE_NAME[w.profile] || w.profile, pdf }));
    note.hidden = false;
    return null;
  }

  /* The page no longer shows the scenario it opened once the user changes something. */
  function leaveScenario() {
    const note = $("scenario-note");
    if (note.hidden) return;
    note.hidden = true;
    note.textContent = "";
  }

  function saveError(text, field) {
    const err = $("save-error");
    err.textContent = text;
    err.hidden = false;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  async function saveScenario(ev) {
    ev.preventDefault();
    $("save-error").hidden = true;
    $("saved").textContent = "";
    const nameInput = $("scenario-name");
    const tokenInput = $("token");
    for (const input of [nameInput, tokenInput]) input.removeAttribute("aria-invalid");
    const name = nameInput.value.trim();
    if (!unit) return;
    if (!name) return saveError(t("name_missing"), nameInput);
    if (name.length > MAX_NAME) return saveError(t("name_too_long"), nameInput);
    const typed = tokenInput.value.trim();
    if (!typed && !token) return saveError(t("token_missing"), tokenInput);
    const useToken = typed || token;
    $("save").disabled = true;
    let resp;
    let data = null;
    try {
      resp = await fetch("/v1/scenarios", {
        method: "POST", body: JSON.stringify({ ...body(), name }), referrerPolicy: "no-referrer",
        cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + useToken },
      });
      try { data = await resp.json(); } catch (e) { data = null; }
    } catch (e) {
      $("save").disabled = false;
      return saveError(t("error_network"));
    }
    $("save").disabled = false;
    if (!resp.ok) {
      if (resp.status === 401) token = null;
      if (resp.status === 429) {
        const wait = Number(resp.headers.get("Retry-After")) || 60;
        const waiting = wait < 90 ? t("wait_seconds", { n: wait }) : t("wait_minutes", { n: Math.ceil(wait / 60) });
        return saveError(t("save_too_many", { wait: waiting }));
      }
      if (resp.status === 401 || resp.status === 403) return saveError(t(SAVE_MESSAGES[resp.status]), tokenInput);
      if (resp.status === 422 && data && Array.isArray(data.detail) && data.detail.some((d) => String(d.loc).includes("name"))) {
        return saveError(t("name_too_long"), nameInput);
      }
      const detail = data && typeof data.detail === "string" ? data.detail : "";
      if (SAVE_MESSAGES[resp.status]) return saveError(t(SAVE_MESSAGES[resp.status]));
      const why = resp.status === 422 ? refusal(resp.status, detail) : null; // what the what-if would refuse
      return saveError(why ? t(why) : t("save_failed", { status: resp.status }));
    }
    token = useToken;
    tokenInput.value = ""; // the token stays in memory only, not in the page
    $("token-hint").textContent = t("token_kept");
    const link = el("a", { href: data.link, text: new URL(data.link, window.location.href).href });
    const pdf = el("a", { href: data.report, download: "", text: t("scenario_pdf") });
    const out = $("saved");
    out.textContent = "";
    out.append(...tNodes("saved", { id: data.id, name: data.name, link, pdf }));
  }

  $("save-form").addEventListener("submit", saveScenario);

  // ---- start ----

  /* Show a unit: as it is today, or with ``initial`` changes ({moves, adds, removes}: a saved scenario's). */
  function selectUnit(id, initial = null) {
    unit = units.find((u) => u.id === id) || units[0];
    $("report-unit").href = "/v1/reports/" + encodeURIComponent(unit.id);
    $("report-unit").textContent = t("report_unit", { unit: unit.unit });
    moves = initial ? initial.moves : new Map();
    adds = initial ? initial.adds : [];
    removes = initial ? initial.removes : new Set();
    snaps = new Map();
    burstStart = null;
    lastBefore = null;
    version++;
    clearError();
    hideFar();
    setAdding(false);
    $("target").value = "";
    styleAreas();
    changedAt = performance.now();
    refreshBases();
    frame();
    compute();
  }

  $("unit").addEventListener("change", () => { leaveScenario(); selectUnit($("unit").value); });
  $("profile").addEventListener("change", () => { leaveScenario(); version++; compute(); });
  $("day").addEventListener("change", () => { leaveScenario(); version++; compute(); });
  $("pick").addEventListener("submit", (ev) => ev.preventDefault());

  async function start() {
    initMap();
    try {
      const [providers, areas] = await Promise.all([getJSON("/v1/providers"), getJSON("/v1/areas")]);
      showExplain();
      units = providers;
      for (const a of areas) areaNames.set(a.id, a.name);
      const select = $("unit");
      select.textContent = "";
      for (const u of units) {
        const text = u.areas.length === 1 ? t("unit_option_one", { unit: u.unit, area: u.areas[0] })
          : t("unit_option_many", { unit: u.unit, areas: u.areas.join(", ") });
        select.append(el("option", { value: u.id, text }));
      }
      select.disabled = false;
      const loading = loadAreas([...areaNames.keys()]);
      const wanted = new URLSearchParams(window.location.search).get("scenario");
      const problem = wanted === null ? "" : await openScenario(wanted);
      if (problem !== null) {
        selectUnit(select.value);
        if (problem) showError(problem);
      }
      await loading;
      styleAreas();
      frame();
    } catch (e) {
      showError(t("units_failed"));
    }
  }

  start();
})();
