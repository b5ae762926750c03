/* ASIH referrer page. The address goes only into a POST body: never the URL, history, storage or the console.
 *
 * Without this script the form posts to /svar and the server renders the same answer (api/templates/answer.html);
 * with it, the page posts JSON to /v1/lookup with "view": true and renders the view model the server made (api/view.py,
 * the same /svar renders: this script computes no text of the answer),
 * speaks it in one live region (#summary, which then takes focus) and draws the map. Texts (sv, en) come from the
 * page's JSON block, the same file the server renders from.
 */
"use strict";

(function () {
  const TEXTS = JSON.parse(document.getElementById("texts").textContent);
  let lang = TEXTS[document.documentElement.lang] ? document.documentElement.lang : "sv";

  const $ = (id) => document.getElementById(id);
  const form = $("search");
  const input = $("q");
  const button = $("submit");
  const summaryEl = $("summary");
  const errorEl = $("error");
  const resultEl = $("result");
  const answerEl = $("answer");
  const mapBox = $("map-box");
  const actions = $("actions");

  // In memory only, for this page view: the last query (to re-ask in another language or with a choice) and answer.
  let lastQuery = null;
  let lastData = null;
  let lastAsked = null; // the query last sent, answered or not: an error is asked again in another language
  let searchSeq = 0;

  // In-memory only: the areas' outlines and the provider list are public and reused between searches.
  const areaCache = new Map();
  let providersPromise = null;
  let map = null;
  let zoomControl = null;
  let mapLayers = null;
  const markersByUnit = new Map();

  function fmt(template, vars) {
    return String(template).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }

  function t(key, vars) {
    const s = TEXTS[lang][key];
    return fmt(s === undefined ? key : s, vars);
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children || []) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  // ---- the answer's view model comes from the server (api/view.py), the same /svar renders: nothing is computed here ----

  function baseName(name) {
    return String(name || "").replace(/\s*\((?:guess|gissning)\)\s*$/, "");
  }

  function freeLine(f) {
    return f.text + (f.age ? " (" + f.age + ")" : "") + (f.note ? "; " + f.note : "");
  }

  // ---- rendering (the same structure as api/templates/answer.html) ----

  function render(v) {
    const parts = [];
    // An uncertain area: the question and its buttons first, right after the summary (one screen on a phone).
    if (v.status === "uncertain") {
      const list = el("ul", { className: "choices" }, v.choices.map((c) => {
        const b = el("button", { type: "button", "data-token": c.token }, [
          el("span", { className: "mk mk-choice", "aria-hidden": "true", text: c.letter }), " " + c.text]);
        b.addEventListener("click", () => choose(c.token));
        return el("li", {}, [b]);
      }));
      parts.push(el("section", { id: "choice", className: "choice", "aria-labelledby": "choice-heading" }, [
        el("h3", { id: "choice-heading", text: v.choice_heading }),
        el("p", { text: v.choice_intro }),
        list,
        v.confirm ? otherTown() : null,
        v.decide_by ? el("p", { className: "muted", text: v.decide_by }) : null,
        window.L ? el("p", { className: "map-pick" }, [toMapLink(t("map_pick"))]) : null,
      ]));
    }
    if (v.decisive.length) {
      parts.push(el("section", { className: "decisive", "aria-labelledby": "decisive-heading" }, [
        el("h3", { id: "decisive-heading" }, [el("span", { className: "icon", "aria-hidden": "true", text: "⚠" }), " " + t("decisive_heading")]),
        el("ul", {}, v.decisive.map((m) => el("li", {}, [el("strong", { text: t("decisive_label") }), " " + m]))),
        v.far_next ? el("p", { id: "far-next", className: "next", text: t("far_next") }) : null,
      ]));
    }
    const matchedDd = el("dd", {}, [
      el("span", { id: "matched", text: v.matched }),
      v.corrected_from ? el("span", { className: "corrected", id: "corrected" }, [
        el("strong", { text: t("did_you_mean", { matched: v.matched }) }), " " + t("you_typed", { original: v.corrected_from }),
      ]) : null,
      el("span", { id: "precision", className: "precision", text: t("precision") + ": " + v.precision }),
      v.region ? el("span", { id: "region", className: "precision", text: v.region }) : null,
      v.region_basis ? el("span", { id: "region-basis", className: "precision", text: v.region_basis }) : null,
    ]);
    const facts = [el("dt", { text: t("matched") }), matchedDd, el("dt", { text: t("area") }),
      el("dd", { id: "area" }, [v.area, v.provenance ? " " : null,
        v.provenance ? el("span", { className: "prov", title: t("prov_title"), text: v.provenance }) : null])];
    if (v.status === "certain") facts.push(el("dt", { text: t("municipality") }), el("dd", { id: "place", text: v.place }));
    parts.push(el("dl", { className: "facts" }, facts));
    if (v.outside_notice) parts.push(el("p", { id: "outside", className: "notice outside", text: t("outside_notice") }));
    if (v.status === "outside") parts.push(el("p", { id: "outside-next", className: "next", text: t("outside_next") }));
    if (v.border) parts.push(el("p", { id: "border", className: "notice", text: v.border }));

    if (v.caution.length) {
      parts.push(el("section", { className: "cautions", "aria-labelledby": "caution-heading" }, [
        el("h3", { id: "caution-heading", text: t("caution_heading") }),
        el("ul", {}, v.caution.map((m) => el("li", { text: m }))),
      ]));
    }

    if (v.status === "certain") {
      parts.push(el("section", { id: "eligible-box", "aria-labelledby": "eligible-heading" }, [
        el("h3", { id: "eligible-heading", text: t("eligible_heading") }),
        v.eligible.length ? unitsTable("eligible", v.eligible, "eligible-heading", true, v.limit_min)
          : el("p", { id: "eligible-empty", className: "muted", text: t("eligible_empty") }),
      ]));
    } else if (v.status === "uncertain") {
      parts.push(el("p", { id: "eligible-empty", className: "muted", text: t(v.confirm ? "eligible_confirm" : "eligible_uncertain") }));
    }

    if (v.info.length) {
      parts.push(el("details", { className: "info", id: "info-box" }, [
        el("summary", { text: t("info_summary", { n: v.info.length }) }),
        el("ul", {}, v.info.map((m) => el("li", { text: m }))),
      ]));
    }
    if (v.others.length) {
      parts.push(el("details", { id: "others-box" }, [
        el("summary", { id: "others-summary", text: t("others_summary", { n: v.others.length }) }),
        el("p", { className: "muted", text: t("others_note") }),
        unitsTable("others", v.others, "others-summary", false, v.limit_min),
      ]));
    }
    parts.push(el("p", { className: "basis", id: "basis" }, [el("strong", { text: t("basis_heading", { n: v.limit_min }) + ":" }), " " + v.basis]));
    parts.push(el("p", { className: "answered-at", id: "answered-at", text: v.answered_at }));
    answerEl.replaceChildren(...parts);
  }

  // A one-town question is not a dead end: "no, another town" asks the same address with the town typed here.
  function otherTown() {
    const town = el("input", { id: "other-town", name: "town", type: "text", autocomplete: "off", spellcheck: "false",
      maxlength: "100", required: true });
    const f = el("form", { className: "other-town", id: "other-town-form", novalidate: true }, [
      el("label", { for: "other-town", text: t("confirm_other") }),
      el("div", { className: "search-row" }, [town,
        el("button", { type: "submit", id: "other-town-search", text: t("other_town_search") })]),
    ]);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const where = town.value.trim();
      if (!where) { town.focus(); return; }
      // The same join as the server's (api/routes/web.py: _in_town).
      const address = [lastQuery && lastQuery.address ? lastQuery.address.trim() : "", where].filter(Boolean).join(", ");
      input.value = address;
      search({ address });
    });
    return f;
  }

  // The map is one link away in every state that has one: the link scrolls to it and gives it focus.
  function toMapLink(text) {
    const a = el("a", { href: "#map-box", className: "to-map", text });
    a.addEventListener("click", goToMap);
    return a;
  }

  function goToMap(ev) {
    if (ev) ev.preventDefault(); // no #fragment in the URL or the history
    mapBox.scrollIntoView({ block: "start" });
    $("map").focus({ preventScroll: true });
  }

  // Free places (as text: the note is the provider's words, never markup) and the provider file's capacity note.
  function capacityCell(u) {
    const f = u.free;
    const parts = [];
    if (f) {
      parts.push(el("span", { className: "free free-" + f.status }, [
        f.status === "stale" ? el("span", { "aria-hidden": "true", text: "⚠ " }) : null,
        f.text,
        f.age ? " (" : null, f.age ? el("time", { datetime: f.reported_at, text: f.age }) : null, f.age ? ")" : null,
      ]));
      if (f.note) parts.push(" ", el("span", { className: "free-note", text: f.note }));
    }
    if (u.capacity) parts.push(" ", el("span", { className: "capacity-note", text: u.capacity }));
    else if (!f) parts.push("–");
    return el("td", { "data-label": t("col_capacity"), "data-free": f ? f.status : null }, [el("div", { className: "v" }, parts)]);
  }

  function unitsTable(id, rows, labelledby, ranked, limitMin) {
    const within = t("col_within", { n: limitMin });
    // Units that may not be chosen: who and how far; their contact and capacity are not the referrer's next step.
    const heads = [t("col_unit"), t("col_time"), within, t("col_base")].concat(ranked ? [t("col_contact"), t("col_capacity")] : []);
    const body = rows.map((u) => {
      const name = el("th", { scope: "row", className: "unit-name" }, [
        ranked ? el("span", { className: "mk mk-base", "aria-hidden": "true", text: String(u.nr) }) : null,
        ranked ? el("span", { className: "sr", text: u.nr + ". " }) : null,
        u.unit,
        el("span", { className: "org", text: u.organisation }),
      ]);
      const mark = u.within
        ? el("span", { className: "yes" }, [el("span", { "aria-hidden": "true", text: "✓" }), " " + t("yes")])
        : u.partial ? el("span", { className: "part" }, [el("span", { "aria-hidden": "true", text: "◐" }), " " + u.partial])
          : el("span", { className: "no" }, [el("span", { "aria-hidden": "true", text: "✗" }), " " + t("no")]);
      const baseV = el("div", { className: "v" }, [u.base + " ",
        el("span", { className: u.base_precision === "unknown" ? "prov guess" : "prov", text: u.base_precision_text })]);
      if (ranked && window.L) {
        const show = el("button", { type: "button", className: "show-on-map", "data-unit": u.id }, [
          t("show_on_map"), el("span", { className: "sr", text: ": " + u.nr + ". " + u.unit })]);
        show.addEventListener("click", () => showOnMap(u.id));
        baseV.append(" ", show);
      }
      const contact = el("td", { "data-label": t("col_contact") }, [el("div", { className: "v" }, [u.contact
        ? el("ul", { className: "contact" }, [
          ...u.contact.known.map((c) => el("li", {}, [c.label + ": ",
            c.tel ? el("a", { href: c.tel, text: c.value }) : c.value])),
          u.contact.missing ? el("li", { className: "missing", text: u.contact.missing }) : null,
        ])
        : el("span", { className: "missing", text: t("contact_missing") })])]);
      return el("tr", { "data-unit": u.id }, [
        name,
        el("td", { "data-label": t("col_time"), className: "num" }, [el("div", { className: "v" }, [u.time,
          u.peak ? " " : null, u.peak ? el("span", { className: "peak", text: "(" + u.peak + ")" }) : null])]),
        el("td", { "data-label": within, className: "num" }, [el("div", { className: "v" }, [mark,
          u.traffic ? el("span", { className: "traffic", text: u.traffic }) : null])]),
        el("td", { "data-label": t("col_base") }, [baseV]),
        ranked ? contact : null,
        ranked ? capacityCell(u) : null,
      ]);
    });
    return el("table", { id, className: "units", "aria-labelledby": labelledby }, [
      el("thead", {}, [el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))]),
      el("tbody", {}, body),
    ]);
  }

  // ---- asking ----

  async function postLookup(query) {
    const body = { lang, view: true };
    if (query.address !== undefined) body.address = query.address;
    if (query.lat !== undefined) { body.lat = query.lat; body.lon = query.lon; }
    if (query.choice) body.choice = query.choice;
    const resp = await fetch("/v1/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
      referrerPolicy: "no-referrer",
    });
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    return { status: resp.status, data };
  }

  async function search(query) {
    const seq = ++searchSeq;
    lastAsked = query;
    clearError();
    button.disabled = true;
    summaryEl.textContent = t("searching");
    try {
      const { status, data } = await postLookup(query);
      if (seq !== searchSeq) return;
      if (status === 200 && data && data.query && data.area && data.view) {
        lastQuery = query;
        lastData = data;
        show(data);
      } else {
        showError(status, data);
      }
    } catch (_) {
      if (seq !== searchSeq) return;
      showError(0, null);
    } finally {
      if (seq === searchSeq) button.disabled = false;
    }
  }

  function show(data) {
    const v = data.view;
    render(v);
    resultEl.hidden = false;
    actions.hidden = false;
    $("copy-status").textContent = "";
    summaryEl.textContent = v.summary;
    $("to-map-line").hidden = !(window.L && v.status === "certain" && typeof v.lat === "number");
    // On a phone (app.css's one-column layout) the answer's first screen starts at the summary: what follows it,
    // an uncertain area's question and buttons included, is in view without scrolling.
    const phone = window.matchMedia("(max-width: 40rem)").matches;
    summaryEl.focus({ preventScroll: phone });
    if (phone) summaryEl.scrollIntoView({ block: "start" });
    drawMap(data, v).catch(mapFailed);
  }

  function choose(token) {
    if (!lastQuery) return;
    search({ ...lastQuery, choice: token });
  }

  function clearError() {
    errorEl.hidden = true;
    errorEl.replaceChildren();
    $("next-steps").hidden = true;
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", "q-hint");
  }

  function showError(status, body) {
    const detail = body && body.detail;
    let message;
    let candidates = [];
    if (status === 0) message = t("no_service");
    else if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.message) {
      message = detail.message;
      candidates = Array.isArray(detail.candidates) ? detail.candidates : [];
    } else if (Array.isArray(detail)) message = t("invalid");
    else if (typeof detail === "string") message = detail;
    else message = t("failed_http", { status });
    fail(message, candidates);
  }

  function fail(message, candidates) {
    const parts = [el("p", { id: "q-error" }, [el("span", { className: "error-prefix", text: t("error_prefix") }), " " + message])];
    if (candidates && candidates.length) {
      parts.push(el("p", { text: t("choose_candidate") }));
      parts.push(el("ul", { className: "candidates" }, candidates.map((c) => {
        const label = c.matched + (TEXTS[lang]["precision_" + c.precision] ? " (" + t("precision_" + c.precision) + ")" : "");
        const b = el("button", { type: "button", text: label });
        b.addEventListener("click", () => {
          input.value = c.matched;
          search({ address: c.matched });
        });
        return el("li", {}, [b]);
      })));
    }
    summaryEl.textContent = "";
    resultEl.hidden = true;
    lastData = null;
    errorEl.replaceChildren(...parts);
    errorEl.hidden = false;
    // The next steps (page.html, the same without JavaScript), and the map to click the patient's place on.
    $("next-steps").hidden = false;
    $("next-map").hidden = true;
    drawPickMap().catch(() => { mapBox.hidden = true; });
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "q-error q-hint");
    input.focus();
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const address = input.value.trim();
    if (!address) {
      lastAsked = null;
      clearError();
      fail(t("empty_query"), []);
      return;
    }
    search({ address });
  });

  // ---- language: texts swap in place (no navigation, no history entry); an answer shown is asked again ----

  function setLang(next) {
    if (!TEXTS[next] || next === lang) return;
    lang = next;
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    for (const node of document.querySelectorAll("[data-t-placeholder]")) node.placeholder = t(node.dataset.tPlaceholder);
    for (const node of document.querySelectorAll("[data-t-aria-label]")) node.setAttribute("aria-label", t(node.dataset.tAriaLabel));
    for (const node of document.querySelectorAll("input[name=lang]")) node.value = lang;
    for (const a of document.querySelectorAll(".langs a[data-lang]")) {
      if (a.dataset.lang === lang) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    }
    if (zoomControl) addZoomControl();
    const again = !errorEl.hidden ? lastAsked : !resultEl.hidden ? lastQuery : null;
    if (again) search(again);
    else if (!errorEl.hidden) clearError();
  }

  for (const a of document.querySelectorAll(".langs a[data-lang]")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      setLang(a.dataset.lang);
    });
  }

  // ---- copy and print ----

  function plainText(v, withAddress) {
    const lines = [v.copy_generated];
    if (withAddress) {
      lines.push(t("copy_query", { address: input.value.trim() }));
      lines.push(t("matched") + ": " + v.matched + " (" + t("precision") + ": " + v.precision + ")");
    }
    lines.push(t("area") + ": " + v.area + (v.provenance ? " (" + v.provenance + ")" : ""));
    if (v.status === "certain") lines.push(t("municipality") + ": " + v.place);
    for (const m of v.decisive) lines.push(t("decisive_heading") + ": " + m);
    if (v.status === "uncertain" && (withAddress || !v.confirm)) {
      lines.push(withAddress ? v.choice_heading : t("choice_heading"));
      for (const c of v.choices) lines.push("  " + c.letter + ". " + c.text);
    }
    if (v.status === "certain") {
      lines.push("", t("eligible_heading") + ":");
      if (!v.eligible.length) lines.push("  " + t("eligible_empty"));
      for (const u of v.eligible) {
        const contact = u.contact
          ? u.contact.known.map((c) => c.label + ": " + c.value).concat(u.contact.missing ? [u.contact.missing] : []).join("; ")
          : t("contact_missing");
        lines.push("  " + u.nr + ". " + u.unit + " (" + u.organisation + ") – " + u.time + ", " +
          t("col_within", { n: v.limit_min }).toLowerCase() + ": " + (u.within ? t("yes") : u.partial || t("no")) +
          (u.traffic ? " (" + u.traffic + ")" : "") + " – " +
          t("col_base").toLowerCase() + ": " + u.base + " (" + u.base_precision_text + ") – " + contact +
          (u.free ? " – " + freeLine(u.free) : ""));
      }
    }
    for (const m of v.caution) lines.push(t("caution_heading") + ": " + m);
    lines.push("", t("basis_heading", { n: v.limit_min }) + ": " + v.basis);
    return lines.join("\n") + "\n";
  }

  $("copy").addEventListener("click", async () => {
    if (!lastData) return;
    const text = plainText(lastData.view, $("copy-address").checked);
    const status = $("copy-status");
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = t("copied");
    } catch (_) {
      status.textContent = t("copy_failed");
    }
  });

  $("print").addEventListener("click", () => window.print());

  // Printing shows everything: folded sections open for the printout, then close again.
  let openedForPrint = [];
  window.addEventListener("beforeprint", () => {
    openedForPrint = [...document.querySelectorAll("#result details:not([open])")];
    for (const d of openedForPrint) d.open = true;
  });
  window.addEventListener("afterprint", () => {
    for (const d of openedForPrint) d.open = false;
    openedForPrint = [];
  });

  for (const a of document.querySelectorAll("a.to-map")) a.addEventListener("click", goToMap);

  // The skip link moves focus past the map without touching the URL (no #fragment in the history).
  $("skip-map").addEventListener("click", (ev) => {
    ev.preventDefault();
    $("after-map").focus();
  });

  // ---- map (optional: the answer never depends on it) ----

  function mapFailed() {
    mapBox.classList.add("failed");
    $("map-note").textContent = t("map_failed");
  }

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" }, referrerPolicy: "no-referrer" });
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    return resp.json();
  }

  function areaFeature(id) {
    if (!areaCache.has(id)) {
      const p = getJSON("/v1/areas/" + encodeURIComponent(id));
      p.catch(() => areaCache.delete(id));
      areaCache.set(id, p);
    }
    return areaCache.get(id);
  }

  function providers() {
    if (!providersPromise) {
      providersPromise = getJSON("/v1/providers");
      providersPromise.catch(() => { providersPromise = null; });
    }
    return providersPromise;
  }

  function addZoomControl() {
    if (zoomControl) zoomControl.remove();
    zoomControl = window.L.control.zoom({ zoomInTitle: t("zoom_in"), zoomOutTitle: t("zoom_out") }).addTo(map);
  }

  function textNode(text) {
    return el("span", { text });
  }

  // A marker is a picture with a name, never a tab stop: the table holds the same facts and the buttons.
  const MARK_SIZE = { "mk-base": 26, "mk-other": 22, "mk-choice": 28, "mk-point": 34 };

  function marker(L, lat, lon, className, label, name) {
    const size = MARK_SIZE[className];
    const m = L.marker([lat, lon], {
      icon: L.divIcon({ className: "mk " + className, html: label, iconSize: [size, size] }),
      keyboard: false, title: "", riseOnHover: true,
    });
    m.on("add", () => {
      const node = m.getElement();
      node.setAttribute("role", "img");
      node.setAttribute("aria-label", name);
    });
    m.bindTooltip(textNode(name), { direction: "top", offset: [0, -12] });
    return m;
  }

  function showOnMap(unitId) {
    const m = markersByUnit.get(unitId);
    if (!map || !m) return;
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 12));
    m.openTooltip();
    mapBox.scrollIntoView({ block: "nearest" });
  }

  // A click on the map (or, by keyboard, the map's centre) is asked as coordinates when the page asks for a place: in
  // the error state and for an uncertain area. The server locates and checks it like any point, its distance to a
  // road included (a far one is answered with a decisive warning).
  let picking = false;
  const COUNTY = [[58.74, 17.23], [60.23, 19.15]]; // Stockholm County's extent (WGS84): the frame to pick a point in

  function setPicking(on) {
    picking = on;
    mapBox.classList.toggle("pick", on);
    $("pick-line").hidden = !on;
    const note = $("map-note");
    note.dataset.t = on ? "pick_note" : "map_note";
    note.textContent = t(note.dataset.t);
    const m = $("map");
    m.dataset.tAriaLabel = on && !lastData ? "map_label_pick" : "map_label";
    m.setAttribute("aria-label", t(m.dataset.tAriaLabel));
  }

  function pickPoint(latlng) {
    if (!picking) return;
    const lat = +latlng.lat.toFixed(6);
    const lon = +latlng.lng.toFixed(6);
    input.value = lat + ", " + lon; // the field says what the answer is for
    search({ lat, lon });
  }

  $("pick-centre").addEventListener("click", () => { if (map) pickPoint(map.getCenter()); });

  function ensureMap(L) {
    if (!map) {
      map = L.map("map", { zoomControl: false, attributionControl: true, scrollWheelZoom: false, keyboard: true });
      addZoomControl();
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution("Lantmäteriet, SCB, Stockholms stad, © OpenStreetMap contributors");
      mapLayers = L.layerGroup().addTo(map);
      if (window.asihBasemap) window.asihBasemap(map); // water, main roads and place names (api/static/basemap.js)
      map.on("click", (ev) => pickPoint(ev.latlng));
    }
  }

  // The error state's map: the county, nothing on it, waiting for a click where the patient is.
  async function drawPickMap() {
    const L = window.L;
    if (!L || typeof L.map !== "function") {
      mapBox.hidden = true; // no map to offer: the next steps say what else to do
      return;
    }
    mapBox.hidden = false;
    ensureMap(L);
    markersByUnit.clear();
    mapLayers.clearLayers();
    mapBox.classList.remove("failed", "uncertain");
    setPicking(true);
    $("legend").hidden = true;
    $("next-map").hidden = false;
    map.invalidateSize();
    map.fitBounds(COUNTY);
  }

  async function drawMap(data, v) {
    const L = window.L;
    markersByUnit.clear();
    const hasPoint = typeof v.lat === "number" && typeof v.lon === "number";
    if (v.status === "outside" || !hasPoint) {
      mapBox.hidden = true; // a lone dot with a legend promising more helps no one
      setPicking(false);
      return;
    }
    if (!L || typeof L.map !== "function") {
      mapBox.hidden = false;
      throw new Error("Leaflet saknas");
    }
    mapBox.hidden = false;
    ensureMap(L);
    mapBox.classList.remove("failed");
    $("legend").hidden = false;
    setPicking(v.status === "uncertain"); // an uncertain area can be decided by a point on the map
    mapBox.classList.toggle("uncertain", v.status === "uncertain");
    mapLayers.clearLayers();
    const seq = searchSeq;

    const areaIds = v.status === "uncertain"
      ? [...new Set(v.choices.map((c) => c.area_id))]
      : (v.area_id === null || v.area_id === undefined ? [] : [v.area_id]);
    const [features, units] = await Promise.all([
      Promise.all(areaIds.map((id) => areaFeature(id).catch(() => null))),
      providers().catch(() => []),
    ]);
    if (seq !== searchSeq) return;
    map.invalidateSize();

    // Frame the patient and the bases the drive times start from; the area (which may reach far into the
    // archipelago) is background, framed only when there are no bases.
    const bounds = L.latLngBounds([]);
    const areaBounds = L.latLngBounds([]);
    for (const f of features) {
      if (!f) continue;
      const layer = L.geoJSON(f, {
        style: { color: "#005f96", weight: 2, dashArray: "6 4", fillOpacity: 0 },  // outlined, not filled: a light fill reads as water
        interactive: false,
      }).addTo(mapLayers);
      areaBounds.extend(layer.getBounds());
    }

    const byId = new Map(units.map((u) => [u.id, u]));
    for (const row of v.eligible) {
      const unit = byId.get(row.id);
      const bases = unit ? unit.bases : [];
      for (const b of bases) {
        const used = b.name === row.base_raw;
        const name = used
          ? t("marker_base", { nr: row.nr, unit: row.unit, time: row.time, base: baseName(b.name) })
          : t("marker_other_base", { nr: row.nr, unit: row.unit, base: baseName(b.name) });
        const m = marker(L, b.lat, b.lon, used ? "mk-base" : "mk-other", String(row.nr), name).addTo(mapLayers);
        if (used) {
          markersByUnit.set(row.id, m);
          bounds.extend(m.getLatLng());
        }
      }
    }
    for (const c of v.choices) {
      if (typeof c.lat !== "number" || typeof c.lon !== "number") continue;
      const m = marker(L, c.lat, c.lon, "mk-choice", c.letter, t("marker_choice", { letter: c.letter, label: c.text })).addTo(mapLayers);
      m.on("click", (ev) => { L.DomEvent.stopPropagation(ev); choose(c.token); });
      bounds.extend(m.getLatLng());
    }

    const point = marker(L, v.lat, v.lon, "mk-point", "", t("map_searched", { precision: v.precision })).addTo(mapLayers);
    point.setZIndexOffset(-1000); // an open ring: a base on the same spot shows its number through it
    bounds.extend(point.getLatLng());

    $("legend").querySelector(".lg-choice").hidden = v.choices.length === 0;
    $("legend").querySelector(".lg-area").hidden = features.every((f) => !f);
    for (const sel of [".mk-base", ".mk-other"]) {
      const li = $("legend").querySelector(sel).closest("li");
      li.hidden = v.eligible.length === 0 || (sel === ".mk-other" && !mapLayers.getLayers().some((l) => l.options.icon && l.options.icon.options.className === "mk mk-other"));
    }

    // With no bases (or choices) to frame, the area is the frame; choices alone frame an uncertain answer.
    const framed = v.eligible.length > 0 || v.choices.some((c) => typeof c.lat === "number");
    if (!framed && areaBounds.isValid()) bounds.extend(areaBounds);
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [28, 28], maxZoom: 14 });
    else map.setView([v.lat, v.lon], 10);
  }
})();
