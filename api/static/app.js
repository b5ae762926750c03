/* ASIH referrer page. The address goes only into a POST body: never the URL, history, storage or the console. */
"use strict";

(function () {
  const PRECISION = { address: "adress", street: "gata", postcode: "postnummer", place: "ort", coordinates: "koordinater" };
  const PROVENANCE = { hypothesis: "hypotes", confirmed: "bekräftad" };
  const BASE_PRECISION = { address: "adress", place: "plats", unknown: "okänd (gissning)" };

  const $ = (id) => document.getElementById(id);
  const form = $("search");
  const input = $("q");
  const button = $("submit");
  const statusEl = $("status");
  const errorEl = $("error");
  const resultEl = $("result");

  // In-memory only: the areas' outlines and the provider list are public and reused between searches.
  const areaCache = new Map();
  let providersPromise = null;
  let map = null;
  let mapLayers = null;
  let searchSeq = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }

  function minutes(s) {
    if (s === null || s === undefined) return "ej nåbar";
    const m = s / 60;
    return m < 1 ? "< 1 min" : Math.round(m) + " min";
  }

  function limitMinutes(limitS) {
    return Math.round(limitS / 60);
  }

  async function postLookup(address) {
    const resp = await fetch("/v1/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ address, lang: "sv" }),
      cache: "no-store",
      credentials: "same-origin",
      referrerPolicy: "no-referrer",
    });
    let body = null;
    try { body = await resp.json(); } catch (_) { body = null; }
    return { status: resp.status, body };
  }

  async function search(address) {
    const seq = ++searchSeq;
    clearError();
    resultEl.hidden = true;
    button.disabled = true;
    statusEl.textContent = "Söker …";
    try {
      const { status, body } = await postLookup(address);
      if (seq !== searchSeq) return;
      if (status === 200 && body) {
        statusEl.textContent = "";
        render(body);
      } else {
        statusEl.textContent = "";
        showError(status, body);
      }
    } catch (_) {
      if (seq !== searchSeq) return;
      statusEl.textContent = "";
      showError(0, null);
    } finally {
      if (seq === searchSeq) button.disabled = false;
    }
  }

  function clearError() {
    errorEl.hidden = true;
    errorEl.replaceChildren();
  }

  function showError(status, body) {
    const detail = body && body.detail;
    const parts = [];
    if (status === 0) {
      parts.push(el("p", { text: "Tjänsten svarar inte. Försök igen om en stund." }));
    } else if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.message) {
      parts.push(el("p", { text: detail.message }));
      const cands = Array.isArray(detail.candidates) ? detail.candidates : [];
      if (cands.length) {
        parts.push(el("p", { text: "Välj en av träffarna:" }));
        const list = el("ul", { className: "candidates" });
        for (const c of cands) {
          const label = c.matched + (PRECISION[c.precision] ? " (" + PRECISION[c.precision] + ")" : "");
          const btn = el("button", { type: "button", text: label });
          btn.addEventListener("click", () => {
            input.value = c.matched;
            search(c.matched);
          });
          list.append(el("li", {}, [btn]));
        }
        parts.push(list);
      }
    } else if (Array.isArray(detail)) {
      parts.push(el("p", { text: "Ogiltig sökning: " + detail.map((d) => d.msg).join("; ") }));
    } else if (typeof detail === "string") {
      parts.push(el("p", { text: detail }));
    } else {
      parts.push(el("p", { text: "Sökningen misslyckades (HTTP " + status + ")." }));
    }
    errorEl.replaceChildren(...parts);
    errorEl.hidden = false;
  }

  function render(data) {
    const q = data.query;
    const area = data.area;
    $("matched").textContent = q.precision === "coordinates"
      ? q.lat.toFixed(5) + ", " + q.lon.toFixed(5)
      : q.matched;
    $("precision").textContent = "Precision: " + (PRECISION[q.precision] || q.precision);

    const areaDd = $("area");
    const outside = $("outside");
    if (area.id === null || area.id === undefined) {
      areaDd.textContent = "Utanför Stockholms län";
      outside.textContent = "Platsen ligger utanför Stockholms län. ASIH-områdena i Region Stockholm täcker bara Stockholms län, så ingen enhet här kan väljas.";
      outside.className = "notice outside";
      outside.hidden = false;
    } else {
      const prov = PROVENANCE[area.provenance] || area.provenance || "";
      areaDd.replaceChildren(
        "Område " + area.id + " – " + area.name + " ",
        el("span", { className: "prov", title: "Hur säker områdesindelningen är", text: prov }),
      );
      outside.hidden = true;
    }
    const place = [area.municipality, area.district && area.district !== area.municipality ? "stadsdelsområde " + area.district : null]
      .filter(Boolean).join(", ");
    $("place").textContent = place || "–";

    const border = $("border");
    const bw = area.border_warning;
    if (bw) {
      border.textContent = "Nära gränsen till område " + bw.neighbour_area_id + " – " + bw.neighbour_area_name +
        " (" + Math.round(bw.distance_m) + " m). " + bw.message;
      border.hidden = false;
    } else {
      border.hidden = true;
    }

    const warnings = data.warnings || [];
    $("warnings").replaceChildren(...warnings.map((w) => el("li", { text: w })));
    $("warnings-box").hidden = warnings.length === 0;

    const limitMin = limitMinutes(data.limit_s);
    fillTable($("eligible"), data.eligible, data.limit_s, limitMin, true);
    $("eligible-empty").hidden = data.eligible.length > 0;
    $("eligible").hidden = data.eligible.length === 0;

    const others = data.reachable_not_approved || [];
    fillTable($("others"), others, data.limit_s, limitMin, false);
    $("others-count").textContent = "(" + others.length + ")";
    $("others-box").hidden = others.length === 0;
    $("others-box").open = false;

    resultEl.hidden = false;
    $("result-heading").focus({ preventScroll: true });
    drawMap(data).catch(mapFailed);
  }

  function fillTable(table, units, limitS, limitMin, ranked) {
    const heads = [ranked ? "Nr" : null, "Enhet", "Vårdgivare", "Körtid", "Inom " + limitMin + " min", "Bas", "Kapacitet"]
      .filter((h) => h !== null);
    const thead = el("thead", {}, [el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))]);
    const rows = units.map((u, i) => {
      const within = u.drive_time_s !== null && u.drive_time_s !== undefined && u.drive_time_s <= limitS;
      const mark = el("span", { className: within ? "yes" : "no", "aria-hidden": "true", text: within ? "✓" : "✗" });
      const sr = el("span", { className: "sr", text: within ? " ja" : " nej" });
      const basePrec = BASE_PRECISION[u.base_precision] || u.base_precision;
      const cells = [];
      if (ranked) cells.push(el("td", { "data-label": "Nr", className: "num rank", text: String(i + 1) }));
      const name = el("td", { "data-label": "Enhet", className: "unit-name" }, [u.unit]);
      if (ranked) name.prepend(el("span", { className: "rank-inline", "aria-hidden": "true", text: (i + 1) + ". " }));
      cells.push(
        name,
        el("td", { "data-label": "Vårdgivare", text: u.organisation }),
        el("td", { "data-label": "Körtid", className: "num", text: minutes(u.drive_time_s) }),
        el("td", { "data-label": "Inom " + limitMin + " min", className: "num" }, [mark, sr]),
        el("td", { "data-label": "Bas" }, [el("span", {}, [
          u.base + " ",
          el("span", { className: u.base_precision === "unknown" ? "prov guess" : "prov", text: basePrec }),
        ])]),
        el("td", { "data-label": "Kapacitet", text: u.capacity_note || "–" }),
      );
      return el("tr", { "data-unit": u.id }, cells);
    });
    table.replaceChildren(thead, el("tbody", {}, rows));
  }

  // ---- map (optional: the lookup answer never depends on it) ----

  function mapFailed() {
    const box = document.querySelector(".map-box");
    if (box) box.classList.add("failed");
    $("map-note").textContent = "Kartan kunde inte visas. Resultatet ovan gäller ändå.";
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

  async function drawMap(data) {
    const L = window.L;
    if (!L || typeof L.map !== "function") throw new Error("Leaflet saknas");
    if (!map) {
      map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: false });
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution("Lantmäteriet, SCB, Stockholms stad, © OpenStreetMap contributors");
      mapLayers = L.layerGroup().addTo(map);
    }
    document.querySelector(".map-box").classList.remove("failed");
    $("map-note").textContent = "Området visas som bakgrund; ingen kartserver används. Blå punkt: sökt plats. Gröna punkter: valbara enheters baser.";
    mapLayers.clearLayers();
    const seq = searchSeq;

    const [feature, units] = await Promise.all([
      data.area.id === null || data.area.id === undefined ? Promise.resolve(null) : areaFeature(data.area.id),
      providers().catch(() => []),
    ]);
    if (seq !== searchSeq) return;
    map.invalidateSize();

    // Frame the patient and the bases the drive times start from; the area (which may reach far into the
    // archipelago) is background, framed only when there are no bases.
    const bounds = L.latLngBounds([]);
    let areaBounds = null;
    if (feature) {
      const layer = L.geoJSON(feature, {
        style: { color: "#0b5cad", weight: 2, fillColor: "#9cc3e6", fillOpacity: 0.25 },
        interactive: false,
      }).addTo(mapLayers);
      areaBounds = layer.getBounds();
    }

    const byId = new Map(units.map((u) => [u.id, u]));
    data.eligible.forEach((opt, i) => {
      const unit = byId.get(opt.id);
      if (!unit) return;
      for (const b of unit.bases) {
        const used = b.name === opt.base;
        const marker = L.circleMarker([b.lat, b.lon], {
          radius: used ? 8 : 6, color: "#14532d", weight: 2,
          fillColor: used ? "#1a7f37" : "#86c99a", fillOpacity: 0.9,
        }).addTo(mapLayers);
        const label = (i + 1) + ". " + opt.unit + (used ? " – " + minutes(opt.drive_time_s) : " (annan bas)");
        marker.bindTooltip(label + " · " + b.name);
        if (used) bounds.extend(marker.getLatLng());
      }
    });

    const point = L.circleMarker([data.query.lat, data.query.lon], {
      radius: 9, color: "#ffffff", weight: 3, fillColor: "#0b5cad", fillOpacity: 1,
    }).addTo(mapLayers);
    point.bindTooltip("Sökt plats (" + (PRECISION[data.query.precision] || data.query.precision) + ")", { permanent: false });
    bounds.extend(point.getLatLng());

    if (data.eligible.length === 0 && areaBounds && areaBounds.isValid()) bounds.extend(areaBounds);
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
    else map.setView([data.query.lat, data.query.lon], 10);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const address = input.value.trim();
    if (!address) {
      clearError();
      resultEl.hidden = true;
      statusEl.textContent = "Skriv en adress, ett postnummer eller koordinater (lat, lon).";
      input.focus();
      return;
    }
    search(address);
  });
})();
