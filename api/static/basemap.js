/* The offline base map under every Leaflet map: water, main roads by class, place names (maps/basemap.py).
 *
 * One function, window.asihBasemap(map, source): `source` is the layer itself (a GeoJSON object, as the folium maps
 * embed it) or its URL on our own server (default "/v1/basemap"); nothing is fetched from other hosts. Water lies
 * below the area fills, roads thin and grey above them, names above both but below markers and popups. Names are
 * placed without overlap after every zoom or move: greedily, in the layer's order (municipalities, boroughs,
 * localities, districts; bigger first), each one only where its box touches no box already placed. The names are
 * decoration for sighted readers (aria-hidden); the map's own text alternatives say what it shows.
 */
(function () {
  "use strict";
  var FONT = { municipality: "600 13px", borough: "600 12px", locality: "400 12px", district: "italic 400 11px" };
  var FAMILY = " system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  var LINE = { municipality: 16, borough: 15, locality: 15, district: 14 };
  var PAD = 2; // px of air around a name's box
  var measureCtx = null;

  function textWidth(text, font) {
    if (!measureCtx) { measureCtx = document.createElement("canvas").getContext("2d"); }
    measureCtx.font = font;
    return Math.ceil(measureCtx.measureText(text).width);
  }

  function css(style) {
    if (document.getElementById("asih-basemap-css")) return;
    var el = document.createElement("style");
    el.id = "asih-basemap-css";
    var halo = style.halo;
    el.textContent =
      ".asih-bm-label{color:" + style.place + ";white-space:nowrap;text-align:center;pointer-events:none;" +
      "text-shadow:0 0 2px " + halo + ",0 0 2px " + halo + ",0 0 3px " + halo + ",0 0 3px " + halo + ";}" +
      ".asih-bm-names{position:absolute;left:0;top:0;}";
    document.head.appendChild(el);
  }

  function waterLines(style) {
    // Water is lined (thin level lines), not only blue: it cannot be taken for a light fill of any colour, also by
    // colour-blind readers. One pattern per page, referred to by the water's fill.
    if (document.getElementById("asih-bm-water-lines")) return "url(#asih-bm-water-lines)";
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    svg.style.position = "absolute";
    svg.innerHTML = '<defs><pattern id="asih-bm-water-lines" patternUnits="userSpaceOnUse" width="10" height="6">' +
      '<rect width="10" height="6" fill="' + style.water + '"/>' +
      '<line x1="0" y1="3" x2="10" y2="3" stroke="' + style.water_edge + '" stroke-width="0.7"/></pattern></defs>';
    document.body.appendChild(svg);
    return "url(#asih-bm-water-lines)";
  }

  function pane(map, name, z) {
    var p = map.getPane(name) || map.createPane(name);
    p.style.zIndex = String(z);
    p.style.pointerEvents = "none";
    return name;
  }

  function draw(map, layer) {
    var L = window.L;
    var style = layer.style || {};
    css(style);
    map.getContainer().style.background = style.land;
    var water = [], roads = [], places = [];
    layer.features.forEach(function (f) {
      var k = f.properties.kind;
      if (k === "water") water.push(f); else if (k === "road") roads.push(f); else if (k === "place") places.push(f);
    });
    // Water under everything (the overlay pane, areas and reach, is 400), roads just above the area fills.
    L.geoJSON({ type: "FeatureCollection", features: water }, {
      pane: pane(map, "asih-bm-water", 250), interactive: false,
      style: function () { return { fillColor: waterLines(style), fillOpacity: 1, color: style.water_edge, weight: 0.6,
                                    className: "asih-bm-water" }; }
    }).addTo(map);
    var widths = style.road_widths || {};
    var roadLayer = L.geoJSON({ type: "FeatureCollection", features: roads }, {
      pane: pane(map, "asih-bm-roads", 410), interactive: false,
      style: function (f) {
        return { color: style.road, weight: roadWeight(widths[f.properties["class"]] || 0.5, map.getZoom()),
                 opacity: 0.75, lineCap: "round", className: "asih-bm-road asih-bm-" + f.properties["class"] };
      }
    }).addTo(map);
    // Names are plain text in a pane of their own, not markers: not in the keyboard order, nor counted among the
    // map's markers (each of which has a text alternative); hidden while a zoom animates, placed again after it.
    var names = L.DomUtil.create("div", "asih-bm-names leaflet-zoom-hide", map.getPane(pane(map, "asih-bm-names", 420)));
    names.setAttribute("aria-hidden", "true");
    var pending = null;
    function place() {
      pending = null;
      roadLayer.setStyle(function (f) { return { weight: roadWeight(widths[f.properties["class"]] || 0.5, map.getZoom()) }; });
      names.textContent = "";
      var zoom = map.getZoom(), size = map.getSize(), placed = obstacles(map), shown = 0;
      places.forEach(function (f) {
        var p = f.properties;
        if (zoom < p.minzoom) return;
        var c = f.geometry.coordinates;
        var pt = map.latLngToContainerPoint([c[1], c[0]]);
        if (pt.x < -50 || pt.y < -20 || pt.x > size.x + 50 || pt.y > size.y + 20) return;
        var font = (FONT[p.place] || FONT.locality) + FAMILY;
        var w = textWidth(p.name, font) + 2 * PAD, h = LINE[p.place] || 15;
        // Leaflet puts icons on whole pixels: a name's box is checked with a pixel to spare on each side.
        var box = { l: pt.x - w / 2 - 1, r: pt.x + w / 2 + 1, t: pt.y - h / 2 - 1, b: pt.y + h / 2 + 1 };
        if (box.l < 0 || box.t < 0 || box.r > size.x || box.b > size.y) return; // a name cut by the edge
        for (var i = 0; i < placed.length; i++) {
          var q = placed[i];
          if (box.l < q.r && q.l < box.r && box.t < q.b && q.t < box.b) return;
        }
        placed.push(box);
        shown += 1;
        var el = L.DomUtil.create("div", "asih-bm-label asih-bm-" + p.place, names);
        el.textContent = p.name;
        el.style.cssText = "position:absolute;left:0;top:0;width:" + w + "px;height:" + h + "px;font:" + font +
          ";line-height:" + h + "px";
        L.DomUtil.setPosition(el, map.latLngToLayerPoint([c[1], c[0]]).subtract([w / 2, h / 2]).round());
      });
      map.getContainer().setAttribute("data-basemap-names", String(shown));
    }
    function soon() { if (!pending) pending = setTimeout(place, 40); }
    map.on("zoomend moveend resize viewreset", soon);
    // A marker the page adds later (the answer's point, bases) takes its room back from the names.
    map.on("layeradd layerremove", function (ev) { if (ev.layer instanceof L.Marker) soon(); });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(soon);
    // The folium maps' own labels give way to each other after a move (maps/layers.py, Declutter), and say when
    // they are done: the names are placed again around them then.
    if (window.MutationObserver) {
      new MutationObserver(soon).observe(map.getContainer(), { attributes: true, attributeFilter: ["data-labels-placed"] });
    }
    soon();
    // The layer's sources not yet credited on this map (the localities' names are GeoNames', CC BY 4.0).
    var credit = map.attributionControl;
    if (credit && layer.attribution) {
      var shown = credit.getContainer().textContent;
      var missing = layer.attribution.split(", ").filter(function (s) {
        return shown.indexOf(s.replace("© ", "")) < 0;
      });
      if (missing.length) credit.addAttribution(missing.join(", "));
    }
    map.getContainer().setAttribute("data-basemap", "ready");
  }

  function obstacles(map) {
    // The map's own markers and labels (numbered bases, the looked-up point, area labels) keep their room.
    var box = map.getContainer(), origin = box.getBoundingClientRect(), out = [];
    box.querySelectorAll(".leaflet-marker-pane .leaflet-marker-icon").forEach(function (el) {
      if (el.classList.contains("asih-al-hidden")) return;
      // A label icon without a size of its own (folium's) is as big as the text it shows.
      [el].concat(Array.prototype.slice.call(el.querySelectorAll("span"))).forEach(function (n) {
        var r = n.getBoundingClientRect();
        if (r.width && r.height) out.push({ l: r.left - origin.left, r: r.right - origin.left,
                                            t: r.top - origin.top, b: r.bottom - origin.top });
      });
    });
    return out;
  }

  function roadWeight(points, zoom) {
    // Paper widths (points) grow with the zoom: hairlines at the county view, readable in town.
    return Math.max(0.6, points * (zoom <= 9 ? 1.2 : zoom <= 11 ? 1.8 : 2.6));
  }

  window.asihBasemap = function (map, source) {
    if (!window.L || !map) return Promise.resolve(null);
    if (source && typeof source === "object") { draw(map, source); return Promise.resolve(map); }
    return fetch(source || "/v1/basemap", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("basemap " + r.status); return r.json(); })
      .then(function (layer) { draw(map, layer); return map; })
      .catch(function () { return null; }); // the map works without it
  };
})();
