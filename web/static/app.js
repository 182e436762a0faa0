/* geosafe map page: Leaflet (vendored), data from this server's OGC API only.
   No tiles: the basemap is the bundled streets, parks and wards (/maps/basemap.json) with
   street and place names placed on a canvas here (/maps/labels.json).
   The session cookie (from /login) authenticates every request (same origin). */
(function () {
  "use strict";

  const RAMP = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  const GI = {
    hot_99: ["#a50f15", "hot spot, 99% confidence"],
    hot_95: ["#de2d26", "hot spot, 95% confidence"],
    hot_90: ["#fb6a4a", "hot spot, 90% confidence"],
    not_significant: ["#ffffff", "not significant"],
    cold_90: ["#6baed6", "cold spot, 90% confidence"],
    cold_95: ["#3182bd", "cold spot, 95% confidence"],
    cold_99: ["#08519c", "cold spot, 99% confidence"],
  };
  const TRENDS = {
    new: "#a50f15", intensifying: "#de2d26", persistent: "#fb6a4a", consecutive: "#fc9272",
    sporadic: "#fcbba1", oscillating: "#fdd0a2", historical: "#9ecae1", diminishing: "#6baed6",
    no_pattern: "#ffffff",
  };
  const PRESETS = {
    "school-run": "school run (term weekdays 07:30-09:30 and 14:45-18:00)",
    "after-school": "after school (term weekdays 14:45-18:00)",
    "all-day": "all day",
    evenings: "evenings (18:00-22:00)",
    night: "night (22:00-06:00)",
    weekends: "weekends",
  };
  const METHOD_TITLE = {
    "hotspots-kde": "Kernel density hotspots",
    "h3-cells": "Getis-Ord Gi* hot and cold cells",
    "emerging-cells": "Emerging hotspots (monthly trend)",
    clusters: "DBSCAN clusters",
  };
  //: Controls a non-analyst role may not use, and why (the server refuses them: never ignored).
  const ANALYST_ONLY = {
    dates: "Free dates are for analysts only: pick a published period (a year, quarter or month).",
    clusters: "DBSCAN radius and minimum are for analysts only: your clusters use the service's defaults.",
    resolution: "H3 cells finer than resolution 8 could identify people: analysts only.",
    filters: "Categories and flags are for analysts only: published counts are by source and time of day.",
  };
  const MAX_PUBLIC_RESOLUTION = 8;

  const state = {
    basemap: 0, labels: 0, hotspots: 0, compare: 0, corridors: 0, role: null, loads: 0,
    error: null, legend: null, places: [], placesReason: null, lastQuery: null, busy: false,
  };
  window.geosafeState = state;

  const map = L.map("map", { preferCanvas: false, zoomControl: true });
  window.geosafeMap = map;  // for tests and the browser console
  for (const [name, z] of [["basemap", 200], ["corridors", 400], ["hotspots", 410], ["compare", 420], ["schools", 440], ["labels", 450]]) {
    map.createPane(name).style.zIndex = z;
  }
  const baseRenderer = L.canvas({ pane: "basemap" });
  const groups = {
    hotspots: L.layerGroup().addTo(map),
    compare: L.layerGroup().addTo(map),
    corridors: L.layerGroup().addTo(map),
    places: L.layerGroup().addTo(map),
    referrals: L.layerGroup(),  // the analyst's: added when the role is known
    safe: L.layerGroup().addTo(map),
    interventions: L.layerGroup().addTo(map),
  };
  const control = L.control.layers(null, null, { collapsed: true, position: "topleft" }).addTo(map);
  control.addOverlay(groups.hotspots, "Hotspots (main period)");
  control.addOverlay(groups.compare, "Hotspots (comparison period)");
  control.addOverlay(groups.corridors, "School journey corridors");
  control.addOverlay(groups.places, "Listed places (numbers)");
  control.addOverlay(groups.safe, "Safe places");
  control.addOverlay(groups.interventions, "Interventions");
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  // the legend lists the density classes of the hotspots in view: redraw it when the view moves
  map.on("moveend", () => { if (state.legendArgs) legend(...state.legendArgs); });

  const $ = (sel) => document.querySelector(sel);
  const form = $("#filters");
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const status = (text, error) => {
    const el = $("#status");
    el.textContent = text;
    el.classList.toggle("error", !!error);
    state.error = error ? text : null;
  };

  // ---------------------------------------------------------------- fetching
  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  //: GET ``url`` as JSON. The server runs a few heavy computations at once and answers 429
  //: with ``Retry-After`` past that: wait as told and ask again (three times at most).
  async function getJSON(url) {
    let r;
    for (let attempt = 0; ; attempt++) {
      r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } });
      if (r.status !== 429 || attempt >= 3) break;
      const wait = Math.min(30, +(r.headers.get("Retry-After") || 2));
      status(`The server is busy; asking again in ${wait} s…`);
      await sleep(wait * 1000);
    }
    if (r.status === 401) {
      $("#who").innerHTML = 'Not logged in. <a href="/login">Log in with your token</a>.';
      throw new Error("not logged in");
    }
    if (!r.ok) {
      let detail = r.statusText;
      try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
      throw new Error(`${r.status}: ${detail}`);
    }
    return r.json();
  }

  async function allFeatures(url) {
    const feats = [];
    let next = url;
    let first = null;
    while (next) {
      const fc = await getJSON(next);
      if (!first) first = fc;
      feats.push(...fc.features);
      const link = (fc.links || []).find((l) => l.rel === "next");
      next = link ? link.href : null;
    }
    return {
      type: "FeatureCollection", features: feats, excluded: first.excluded || first["geosafe:excluded"],
      note: first.note || first["geosafe:note"] || first["geosafe:reason"],
      p_method_text: first.p_method_text || first["geosafe:p_method_text"], p_min: first.p_min || first["geosafe:p_min"],
      sources: first["geosafe:sourcesRecorded"] || null,
    };
  }

  //: Two periods compare like for like only over the sources recorded in both: a source with
  //: no record in one of them (the demo's synthetic sources cover its last 12 months only) is not a rise
  //: or a fall. The sentence saying so, or "" (``now``, ``then``: items answers).
  const SOURCE_NAMES = { dir: "DIR", asif: "ASIF", cris: "CRIS", police_uk: "police.uk", fap: "FAP" };
  function sourceGap(now, then, thenLabel, nowLabel) {
    if (!now || !then || !now.sources || !then.sources) return "";
    const ticked = new FormData(form).getAll("source");
    const names = (list) => list.map((x) => SOURCE_NAMES[x] || x).join(", ");
    const onlyNow = now.sources.filter((x) => ticked.includes(x) && !then.sources.includes(x));
    const onlyThen = then.sources.filter((x) => ticked.includes(x) && !now.sources.includes(x));
    const parts = [];
    if (onlyNow.length) parts.push(`${names(onlyNow)} ${onlyNow.length === 1 ? "has" : "have"} no record in ${thenLabel}`);
    if (onlyThen.length) parts.push(`${names(onlyThen)} ${onlyThen.length === 1 ? "has" : "have"} no record in ${nowLabel || "this period"}`);
    return parts.length ? `Not like for like: ${parts.join("; ")}, so the comparison counts different sources.` : "";
  }

  // ---------------------------------------------------------------- formatting
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function fmtDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
    return m ? `${+m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}` : iso;
  }
  function fmtPeriod(p) {
    if (!p) return "";
    const parts = String(p).split("/");
    return parts.length === 2 ? `${fmtDate(parts[0])} to ${fmtDate(parts[1])}` : String(p);
  }
  function nice(v, how) {
    // 2 significant figures, rounded down (class floors) or up (class ceilings)
    if (!isFinite(v) || v === 0) return v;
    const mag = Math.pow(10, Math.floor(Math.log10(Math.abs(v))) - 1);
    const f = how === "up" ? Math.ceil : how === "down" ? Math.floor : Math.round;
    return f(v / mag) * mag;
  }
  const fmtNum = (v) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-GB") : String(Math.round(v * 10) / 10));
  //: a count as a person reads it: whole numbers as they are, shares of incidents (a bus-route
  //: stretch split between cells) to one decimal place, nothing as a dash
  const fmtCount = (v) => (typeof v !== "number" ? "–" : Number.isInteger(v) ? v.toLocaleString("en-GB") : fmtNum(v));
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;

  function describeExcluded(fc) {
    const out = [];
    if (fc.note) out.push(String(fc.note).replace(/([^.!?])$/, "$1."));
    const ex = fc.excluded;
    if (ex && typeof ex === "object") {
      if (ex.message) out.push(String(ex.message));
      const counts = ex.by_reason || ex;
      for (const [reason, n] of Object.entries(counts)) {
        if (typeof n === "number" && n > 0) out.push(`${n} left out: ${reason.replace(/_/g, " ")}`);
      }
    }
    return out.join(" ");
  }

  // ---------------------------------------------------------------- popups
  const rounded = () => state.role !== "analyst";
  const FIELDS = [
    ["density", () => "incidents per km² (smoothed)"],
    ["peak_density_km2", () => "highest incidents per km²"],
    ["mean_density", () => "average incidents per km² over the hotspot"],
    ["count", () => (rounded() ? "incidents here (rounded to 5; 1-9 not shown)" : "incidents here")],
    ["n_incidents", () => (rounded() ? "incidents in the cluster (rounded to 5)" : "incidents in the cluster")],
    ["incidents", () => (rounded() ? "incidents (rounded to 5)" : "incidents")],
    ["pupils", () => (rounded() ? "pupils whose walk passes here (rounded to 5)" : "pupils whose walk passes here")],
    ["journeys", () => (rounded() ? "journeys that pass here (rounded to 5)" : "journeys that pass here")],
    ["hotspot", () => "Gi* class"],
    ["gi_z", () => "Gi* z-score (above 1.96: more incidents than the surroundings suggest)"],
    ["gi_p", () => "p-value (chance of a cluster this strong by luck)"],
    ["p_method_text", () => "how the p-value was found"],
    ["p_min", () => "smallest p-value this method can give"],
    ["trend", () => "trend over the months"],
    ["rank", () => "rank (1 = densest)"],
    ["area_km2", () => "area, km²"],
    ["school_name", () => "school"],
    ["mode", () => "travel mode"],
    ["length_m", () => "length of the stretch, metres"],
    ["exposure", () => "exposure (expected incidents within 50 m per 1,000 journeys)"],
    ["mean_density_km2", () => "average incidents per km² along the stretch"],
    ["suppressed", () => "count hidden (fewer than 10 incidents)"],
    ["preset", () => "time of day"],
    ["period", () => "period"],
  ];
  const SKIP = new Set(["name", "place_name", "p_method", "threshold", "units", "cell", "resolution", "cluster_id", "hotspot_id", "id", "synthetic"]);

  function fmtValue(key, v) {
    if (key === "hotspot") return (GI[v] || [null, v])[1];
    if (key === "trend") return String(v).replace(/_/g, " ");
    if (key === "period") return fmtPeriod(v);
    if (key === "preset") return PRESETS[v] || v;
    if (key === "suppressed") return v ? "yes" : "no";
    if (typeof v === "number") return key === "gi_p" ? String(Math.round(v * 10000) / 10000) : fmtNum(v);
    return String(v);
  }

  function popupHtml(f, kind) {
    const p = f.properties || {};
    const title = placeName(f);
    const rows = [];
    const known = new Set();
    for (const [key, label] of FIELDS) {
      known.add(key);
      if (p[key] === null || p[key] === undefined || typeof p[key] === "object") continue;
      rows.push(`<tr><th>${esc(label())}</th><td>${esc(fmtValue(key, p[key]))}</td></tr>`);
    }
    for (const [key, v] of Object.entries(p)) {
      if (known.has(key) || SKIP.has(key) || v === null || typeof v === "object") continue;
      rows.push(`<tr><th>${esc(key.replace(/_/g, " "))}</th><td>${esc(fmtValue(key, v))}</td></tr>`);
    }
    return `<b>${esc(kind)}: ${esc(title)}</b><table class="popup">${rows.join("")}</table>`;
  }

  // ---------------------------------------------------------------- labels and place names
  let labels = { streets: [], places: [] };

  function lineParts(g) {
    if (!g) return [];
    if (g.type === "LineString") return [g.coordinates];
    if (g.type === "MultiLineString") return g.coordinates;
    return [];
  }

  const LabelLayer = L.Layer.extend({
    onAdd(m) {
      this._canvas = L.DomUtil.create("canvas", "geosafe-labels");
      m.getPane("labels").appendChild(this._canvas);
      m.on("moveend zoomend resize", this._draw, this);
      this._draw();
    },
    onRemove(m) {
      m.off("moveend zoomend resize", this._draw, this);
      L.DomUtil.remove(this._canvas);
    },
    _draw() {
      const m = this._map;
      const size = m.getSize();
      const ratio = window.devicePixelRatio || 1;
      const c = this._canvas;
      c.width = size.x * ratio;
      c.height = size.y * ratio;
      c.style.width = `${size.x}px`;
      c.style.height = `${size.y}px`;
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
      const ctx = c.getContext("2d");
      ctx.scale(ratio, ratio);
      const zoom = m.getZoom();
      const placed = [];
      const free = (b) => b.x0 >= 0 && b.y0 >= 0 && b.x1 <= size.x && b.y1 <= size.y &&
        !placed.some((o) => b.x0 < o.x1 && b.x1 > o.x0 && b.y0 < o.y1 && b.y1 > o.y0);
      let n = 0;
      const minRank = zoom >= 16 ? 4 : zoom >= 15 ? 3 : zoom >= 14 ? 2 : 1;
      for (const f of labels.places) {
        const p = f.properties;
        if (p.rank > minRank) continue;
        const pt = m.latLngToContainerPoint([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
        const big = p.kind === "station" || p.kind === "area";
        ctx.font = `${big ? "600 " : p.kind === "stop" ? "italic " : ""}${big ? 13 : 11}px system-ui, sans-serif`;
        const w = ctx.measureText(p.name).width;
        const h = big ? 14 : 12;
        const box = { x0: pt.x - w / 2 - 2, y0: pt.y - h - 4, x1: pt.x + w / 2 + 2, y1: pt.y };
        if (!free(box)) continue;
        placed.push(box);
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.fillStyle = p.kind === "park" ? "#2f6d2f" : p.kind === "stop" ? "#555" : p.kind === "school" ? "#08519c" : "#222";
        ctx.textAlign = "center";
        ctx.strokeText(p.name, pt.x, pt.y - 4);
        ctx.fillText(p.name, pt.x, pt.y - 4);
        if (p.kind === "station") {
          ctx.beginPath();
          ctx.arc(pt.x, pt.y, 3, 0, 2 * Math.PI);
          ctx.fill();
        }
        n += 1;
      }
      if (zoom >= 13) {
        const minLen = zoom >= 16 ? 0 : zoom >= 15 ? 250 : zoom >= 14 ? 800 : 1500;
        ctx.font = "11px system-ui, sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        for (const f of labels.streets) {
          if (f.properties.length_m < minLen) continue;
          const name = f.properties.name;
          const w = ctx.measureText(name).width;
          let best = null;
          for (const part of lineParts(f.geometry)) {
            const px = part.map(([x, y]) => m.latLngToContainerPoint([y, x]));
            let len = 0;
            for (let i = 1; i < px.length; i++) len += px[i].distanceTo(px[i - 1]);
            if (len > w * 1.2 && (!best || len > best.len)) best = { px, len };
          }
          if (!best) continue;
          // the point half way along, and the direction of the line there
          let half = best.len / 2;
          let at = null;
          for (let i = 1; i < best.px.length; i++) {
            const a = best.px[i - 1];
            const b = best.px[i];
            const d = a.distanceTo(b);
            if (half <= d && d > 0) {
              const t = half / d;
              at = { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, ang: Math.atan2(b.y - a.y, b.x - a.x) };
              break;
            }
            half -= d;
          }
          if (!at) continue;
          let ang = at.ang;
          if (ang > Math.PI / 2) ang -= Math.PI;
          if (ang < -Math.PI / 2) ang += Math.PI;
          const dx = Math.abs(Math.cos(ang)) * w / 2 + Math.abs(Math.sin(ang)) * 6;
          const dy = Math.abs(Math.sin(ang)) * w / 2 + Math.abs(Math.cos(ang)) * 6;
          const box = { x0: at.x - dx, y0: at.y - dy, x1: at.x + dx, y1: at.y + dy };
          if (!free(box)) continue;
          placed.push(box);
          ctx.save();
          ctx.translate(at.x, at.y);
          ctx.rotate(ang);
          ctx.lineWidth = 3;
          ctx.strokeStyle = "rgba(255,255,255,0.9)";
          ctx.fillStyle = "#444";
          ctx.strokeText(name, 0, 0);
          ctx.fillText(name, 0, 0);
          ctx.restore();
          n += 1;
        }
      }
      state.labels = n;
    },
  });

  //: A feature's place name as the server gives it (``place_name``, or a street corridor's
  //: ``name``): one naming rule, the library's, for the page, the reports and QGIS.
  function placeName(f) {
    const p = f.properties || {};
    const own = p.place_name || p.name;
    if (own && !/^HS\d+$/.test(own)) return own;
    return p.cell ? `cell ${p.cell}` : `#${p.rank ?? f.id}`;
  }

  // ---------------------------------------------------------------- controls per role
  function setDisabled(input, reason) {
    input.disabled = true;
    input.title = reason;
    const label = input.closest("label");
    if (label) { label.classList.add("disabled"); label.title = reason; }
  }

  function applyRole(role) {
    document.body.classList.toggle("not-analyst", role !== "analyst");
    if (role === "analyst") return;
    for (const name of ["start", "end"]) setDisabled(form.elements[name], ANALYST_ONLY.dates);
    const dr = $("#dates-reason");
    dr.textContent = ANALYST_ONLY.dates;
    dr.hidden = false;
    for (const name of ["categories", "flags"]) setDisabled(form.elements[name], ANALYST_ONLY.filters);
    const fr = $("#filters-reason");
    fr.textContent = ANALYST_ONLY.filters;
    fr.hidden = false;
    for (const name of ["eps_m", "min_samples"]) setDisabled(form.elements[name], ANALYST_ONLY.clusters);
    const res = form.elements.resolution;
    for (const o of res.options) {
      if (+o.value > MAX_PUBLIC_RESOLUTION) {
        o.disabled = true;
        o.textContent += " (analysts only)";
      }
    }
    res.value = String(MAX_PUBLIC_RESOLUTION);
    res.title = ANALYST_ONLY.resolution;
  }

  function showMethod(method) {
    for (const box of document.querySelectorAll("[data-method]")) {
      box.hidden = !box.dataset.method.split(" ").includes(method);
    }
    const reason = $("#method-reason");
    const why = state.role && state.role !== "analyst"
      ? method === "clusters" ? ANALYST_ONLY.clusters : method.endsWith("cells") ? ANALYST_ONLY.resolution : ""
      : "";
    reason.textContent = why;
    reason.hidden = !why;
  }

  // ---------------------------------------------------------------- request parameters
  function params(extra, opts) {
    const o = opts || {};
    const fd = new FormData(form);  // disabled controls are not in it
    const q = new URLSearchParams();
    const all = [...form.querySelectorAll('input[name="source"]')].map((i) => i.value);
    const sources = fd.getAll("source");
    if (!sources.length) throw new Error("Pick at least one source of incidents (none is ticked).");
    if (sources.length < all.length) q.set("sources", sources.join(","));
    for (const k of ["categories", "flags", "start", "end"]) if (fd.get(k)) q.set(k, fd.get(k).trim());
    q.set("preset", fd.get("preset"));
    if (fd.get("period")) q.set("datetime", fd.get("period").trim());
    if (!o.filtersOnly) {
      const method = fd.get("method");
      for (const box of document.querySelectorAll("[data-method]")) {
        if (!box.dataset.method.split(" ").includes(method)) continue;
        for (const input of box.querySelectorAll("input, select")) {
          if (!input.disabled && input.value) q.set(input.name, input.value);
        }
      }
    }
    for (const [k, v] of Object.entries(extra || {})) { if (v) q.set(k, v); else q.delete(k); }
    q.set("limit", "1000");
    return q;
  }

  // ---------------------------------------------------------------- legend classes
  //: Quantile classes of the values drawn (at most five), floors and ceilings rounded outwards
  //: to two significant figures so that the first class starts at or below the smallest value
  //: and the last ends at or above the largest.
  function quantileClasses(values) {
    const v = values.filter((x) => x !== null && x !== undefined && isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return [];
    const distinct = [...new Set(v)];
    const k = Math.min(5, distinct.length);
    const cuts = [nice(v[0], "down")];
    for (let i = 1; i < k; i++) {
      const q = nice(v[Math.floor((i * v.length) / k)], "near");
      if (q > cuts[cuts.length - 1]) cuts.push(q);
    }
    const top = nice(v[v.length - 1], "up");
    cuts.push(top > cuts[cuts.length - 1] ? top : v[v.length - 1]);
    const colours = cuts.length - 1 >= RAMP.length ? RAMP : RAMP.slice(RAMP.length - (cuts.length - 1));
    return cuts.slice(0, -1).map((lo, i) => ({ lo, hi: cuts[i + 1], colour: colours[i] }));
  }
  function classColour(classes, v) {
    if (v === null || v === undefined || !classes.length) return "#cccccc";
    for (let i = classes.length - 1; i >= 0; i--) if (v >= classes[i].lo) return classes[i].colour;
    return classes[0].colour;
  }

  function densityField(fc) {
    return fc.features.some((f) => typeof (f.properties || {}).density === "number") ? "density" : "count";
  }

  // ---------------------------------------------------------------- hotspots
  let drawSeq = 0;

  function failLayer(err) {
    groups.hotspots.clearLayers();
    groups.compare.clearLayers();
    state.hotspots = 0;
    state.compare = 0;
    state.legend = null;
    $("#legend").innerHTML = `<div class="error">Layer not shown: ${esc(err.message)}</div>`;
    status(err.message, true);
  }

  async function drawHotspots() {
    const seq = ++drawSeq;
    const fd = new FormData(form);
    const method = fd.get("method");
    let q;
    try {
      q = params();
    } catch (err) {
      failLayer(err);
      state.loads += 1;
      return;
    }
    state.lastQuery = `${method}?${q}`;
    status(`Computing ${METHOD_TITLE[method].toLowerCase()}…`);
    $("#map-link").href = `/maps/hotspots?${params({ limit: "" }, { filtersOnly: true }).toString()}`;
    try {
      const fc = await allFeatures(`/ogc/collections/${method}/items?${q}`);
      let other = null;
      const cp = (fd.get("compare_period") || "").trim();
      if (cp) other = await allFeatures(`/ogc/collections/${method}/items?${params({ datetime: cp, start: "", end: "" })}`);
      if (seq !== drawSeq) return;  // a newer request was made meanwhile
      groups.hotspots.clearLayers();
      groups.compare.clearLayers();
      const field = densityField(fc);
      const classes = method === "hotspots-kde" || method === "clusters"
        ? quantileClasses(fc.features.map((f) => f.properties[field])) : [];
      const style = (f) => {
        const p = f.properties || {};
        if (method === "h3-cells") {
          const c = (GI[p.hotspot] || GI.not_significant)[0];
          return { pane: "hotspots", color: "#555", weight: 0.5, fillColor: c, fillOpacity: p.hotspot && p.hotspot !== "not_significant" ? 0.65 : 0.08 };
        }
        if (method === "emerging-cells") {
          const c = TRENDS[p.trend] || "#ffffff";
          return { pane: "hotspots", color: "#555", weight: 0.5, fillColor: c, fillOpacity: c === "#ffffff" ? 0.08 : 0.65 };
        }
        return { pane: "hotspots", color: "#67000d", weight: 1, fillColor: classColour(classes, p[field]), fillOpacity: 0.7 };
      };
      const kind = { "hotspots-kde": "Hotspot", clusters: "Cluster", "h3-cells": "Cell", "emerging-cells": "Cell" }[method];
      L.geoJSON(fc, { pane: "hotspots", style, onEachFeature: (f, l) => l.bindPopup(() => popupHtml(f, kind)) }).addTo(groups.hotspots);
      state.hotspots = fc.features.length;
      state.compare = 0;
      if (other) {
        L.geoJSON(other, { pane: "compare", interactive: false, style: () => ({ pane: "compare", color: "#08519c", weight: 2, fill: false, dashArray: "5 3" }) }).addTo(groups.compare);
        state.compare = other.features.length;
      }
      state.hotspotFeatures = fc.features;
      if (!state.zoomed && fc.features.length && state.role === "analyst" && !$("#school").value) {
        map.fitBounds(groups.hotspots.getLayers()[0].getBounds(), { maxZoom: 15, animate: false, ...viewPadding() });
        state.zoomed = true;
      }
      legend(method, fc, classes, field, cp);
      const why = describeExcluded(fc);
      const gap = sourceGap(fc, other, cp, (fd.get("period") || "").trim());
      state.sourceGap = gap || null;
      let msg = `${plural(state.hotspots, "feature")} drawn` + (other ? `, ${state.compare} in ${cp} (blue outlines)` : "") + "." + (gap ? ` ${gap}` : "");
      if (!state.hotspots) msg = emptyReason(method, fd, !!why);
      else if (fc.features.every((f) => f.properties.count === 0)) {
        // H3 layers draw every cell of the area: say when none holds an incident
        msg += " None of them holds an incident of this period and time of day in the mapped area.";
      }
      status(`${msg}${why ? ` ${why}` : ""}`);
      if (why && fd.get("preset") !== "all-day" && /precision|month|day only|time/i.test(why)) offerAllDay();
      state.loads += 1;
    } catch (err) {
      if (seq !== drawSeq) return;
      failLayer(err);
      state.loads += 1;
    }
  }

  //: Records dated only to the day or month cannot fall in a time-of-day window: offer them.
  function offerAllDay() {
    const a = document.createElement("a");
    a.href = "#";
    a.id = "all-day";
    a.textContent = " Show all times of day instead.";
    a.addEventListener("click", (e) => {
      e.preventDefault();
      form.elements.preset.value = "all-day";
      refresh().catch((err) => status(err.message, true));
    });
    $("#status").appendChild(a);
  }

  //: ``serverSaid``: the answer gave its own reason, which is then the only one shown (the
  //: guess below contradicted it, e.g. "try another time of day" for incidents outside the area)
  function emptyReason(method, fd, serverSaid) {
    const preset = PRESETS[fd.get("preset")] || fd.get("preset");
    const where = state.role === "neighbourhood" ? " in your wards" : "";
    const base = `No ${METHOD_TITLE[method].toLowerCase()}${where} for ${preset}${fd.get("period") ? ` in ${fd.get("period")}` : " in the last 12 months"}.`;
    if (serverSaid) return `${base} Why:`;
    if (state.role === "analyst") return `${base} Too few incidents pass the filters; try another time of day or a longer period.`;
    return `${base} Your role sees layers built from published cell counts, where cells with 1-9 incidents are not shown; try "All day", a longer period or H3 cells.`;
  }

  //: Leaflet padding that keeps what is zoomed onto clear of the list of places (top right,
  //: 400 px) and of the legend (bottom right): Leaflet's options are paddingTopLeft and
  //: paddingBottomRight (paddingTopRight was silently ignored and the list hid places).
  function viewPadding() {
    const box = $("#places");
    const right = Math.max(box.hidden ? 0 : box.offsetWidth, 400) + 12;
    const legendBox = $("#legend");
    const bottom = Math.min(legendBox.offsetHeight, 80) + 12;
    return { paddingTopLeft: [12, 12], paddingBottomRight: [right, bottom] };
  }

  //: Bounds of a feature (computed once per feature object).
  const boundsOf = new WeakMap();
  function featureBounds(f) {
    let b = boundsOf.get(f);
    if (!b) { b = L.geoJSON(f).getBounds(); boundsOf.set(f, b); }
    return b;
  }

  function legend(method, fc, classes, field, comparePeriod) {
    state.legendArgs = [method, fc, classes, field, comparePeriod];
    const periods = [...new Set(fc.features.map((f) => f.properties.period).filter(Boolean))];
    const fd = new FormData(form);
    const when = `${periods.length ? fmtPeriod(periods[0]) : fd.get("period") || "last 12 months"}; ${PRESETS[fd.get("preset")] || fd.get("preset")}`;
    const rows = [];
    let units = "";
    let shownClasses = classes;
    let outside = 0;
    if (method === "h3-cells") {
      const seen = new Set(fc.features.map((f) => f.properties.hotspot || "not_significant"));
      for (const [k, [c, label]] of Object.entries(GI)) {
        if (seen.has(k)) rows.push(`<div><i style="background:${c}"></i>${esc(label)} (${fc.features.filter((f) => (f.properties.hotspot || "not_significant") === k).length})</div>`);
      }
      // how the p-values were found and the smallest reachable (from the layer, when it says)
      const src = fc.features.map((f) => f.properties).find((p) => p.p_method_text || p.p_method || p.p_min) || fc;
      const how = src.p_method_text || src.p_method || "";
      if (how || src.p_min) rows.push(`<div class="sub">${esc(how)}${src.p_min ? `${how ? "; " : ""}smallest reachable p ${esc(src.p_min)}` : ""}</div>`);
      units = "Gi* with false discovery rate 5%";
    } else if (method === "emerging-cells") {
      const seen = new Set(fc.features.map((f) => f.properties.trend));
      for (const [k, c] of Object.entries(TRENDS)) if (seen.has(k)) rows.push(`<div><i style="background:${c}"></i>${esc(k.replace(/_/g, " "))}</div>`);
      units = "trend of monthly Gi*";
    } else {
      // only the classes of the hotspots in view (the colours stay those of the whole layer)
      units = field === "density" ? "incidents per km²" : "incidents";
      const view = map.getBounds();
      const shown = fc.features.filter((f) => view.intersects(featureBounds(f)));
      const used = new Set(shown.map((f) => classColour(classes, f.properties[field])));
      shownClasses = classes.filter((c) => used.has(c.colour));
      for (const c of shownClasses) rows.push(`<div><i style="background:${c.colour}"></i>${fmtNum(c.lo)} – ${fmtNum(c.hi)}</div>`);
      if (shownClasses.length) rows.push('<div class="sub">classes: quantiles of the values drawn</div>');
      outside = fc.features.length - shown.length;
      if (outside && !shown.length) {
        rows.push(`<div class="sub" id="legend-outside">No hotspot in this view; ${plural(outside, "hotspot")} outside it (zoom out to see ${outside === 1 ? "it" : "them"}).</div>`);
      } else if (outside) {
        rows.push(`<div class="sub" id="legend-outside">${plural(outside, "more hotspot")} outside this view.</div>`);
      }
    }
    if (!rows.length) rows.push('<div class="sub">nothing to show</div>');
    state.legend = { method, field, units, classes, shownClasses, outside, period: when };
    const extra = [];
    if (comparePeriod) extra.push(`<div><i class="line" style="border-color:#08519c"></i>${esc(comparePeriod)} (outline)</div>`);
    if (state.referralPlaces) {
      extra.push(`<div><i style="background:#f16913;border-radius:50%"></i>places named in referrals (${state.referralPlaces})</div>`);
    }
    extra.push('<div><i style="background:#08519c;border-radius:50%"></i>schools</div>');
    if (state.places.length) extra.push('<div><i style="background:#fff;border:2px solid #000"></i>numbered outlines: the places listed</div>');
    extra.push(state.safePlaces
      ? `<div><i style="background:#31a354;border-radius:50%"></i>safe places (${state.safePlaces})</div>`
      : `<div class="sub" id="legend-safe" title="${esc(state.safePlacesReason || "")}">Safe places: ${esc(/^no safe places have been imported/i.test(state.safePlacesReason || "") ? "none have been imported" : String(state.safePlacesReason || "none loaded").split(/[;(]/)[0].trim())} (hover to see how to add them).</div>`);
    if (state.interventions) {
      extra.push(`<div><i style="background:none;border:2px dashed #006d2c"></i>interventions (${state.interventions})${state.role === "analyst" ? "" : ": published cells"}</div>`);
    } else if (state.interventionsReason) {
      extra.push(`<div class="sub" id="legend-interventions">${esc(state.interventionsReason)}</div>`);
    }
    if (state.corridors) {
      extra.push(state.corridorPolygons
        ? '<div><i style="background:#807dba"></i>areas on pupils\' walks (10+ pupils)</div>'
        : '<div><i class="line" style="border-color:#3f007d"></i>pupils\' walks (width: pupils)</div>');
    }
    $("#legend").innerHTML = `<div class="title">${esc(METHOD_TITLE[method])}</div><div class="sub">${esc(units)}</div>` +
      `<div class="sub" id="legend-period">${esc(when)}</div>${rows.join("")}${extra.join("")}` +
      (document.body.classList.contains("real-data") ? "" : '<div class="sub" style="color:#a50f15">DIR/ASIF/CRIS/FAP: synthetic demo data</div>');
  }

  // ---------------------------------------------------------------- basemap and schools
  async function drawBasemap() {
    const b = await getJSON("/maps/basemap.json");
    const lab = await getJSON("/maps/labels.json");
    const opts = (style) => ({ pane: "basemap", renderer: baseRenderer, interactive: false, style });
    L.geoJSON(b.wards, opts({ color: "#9e9ac8", weight: 1, fill: false, dashArray: "4 3" })).addTo(map);
    L.geoJSON(b.parks, opts({ color: "#74c476", weight: 0.5, fillColor: "#c7e9c0", fillOpacity: 0.6 })).addTo(map);
    L.geoJSON(b.streets, opts((f) => ({ color: "#bdbdbd", weight: /primary|trunk|secondary/.test(f.properties.highway) ? 2.2 : 1 }))).addTo(map);
    state.basemap = b.streets.features.length + b.parks.features.length + b.wards.features.length;
    labels = { streets: lab.streets.features, places: lab.places.features };
    const [x0, y0, x1, y1] = b.bounds;
    map.fitBounds([[y0, x0], [y1, x1]], { animate: false });
    // the area's data sources and licences (area.json): short lines shown, full text as tooltip
    if ((b.attribution_short || []).length) {
      map.attributionControl.setPosition("bottomleft");
      map.attributionControl.addAttribution(b.attribution_short.map(esc).join(" · "));
      map.attributionControl.getContainer().title = (b.attribution || []).join("\n");
      state.attribution = b.attribution_short;
    }
    new LabelLayer().addTo(map);
  }

  async function loadSchools() {
    const fc = await allFeatures("/ogc/collections/schools/items?limit=1000");
    const select = $("#school");
    const layer = L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { pane: "schools", radius: 6, color: "#08519c", fillOpacity: 0.9 }),
      onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name} (URN ${f.id})`),
    }).addTo(map);
    control.addOverlay(layer, "Schools");
    fc.features.sort((a, b) => a.properties.name.localeCompare(b.properties.name));
    for (const f of fc.features) {
      if (state.role === "school" && state.school && f.id !== state.school) continue;
      const o = document.createElement("option");
      o.value = f.id;
      o.textContent = `${f.properties.name} (${f.id})`;
      o.dataset.lon = f.geometry.coordinates[0];
      o.dataset.lat = f.geometry.coordinates[1];
      select.appendChild(o);
    }
    if (state.role === "school") {
      setDisabled(select, "Your token is bound to this school.");
      select.closest("fieldset").querySelector("legend").textContent = "Your school";
    }
  }

  // ---------------------------------------------------------------- places (ranked list)
  function inRing(pt, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function cellHas(cell, coords) {
    const ring = cell.geometry.type === "Polygon" ? cell.geometry.coordinates[0] : cell.geometry.coordinates[0][0];
    return coords.some((c) => inRing(c, ring));
  }
  function vertices(g) {
    if (!g) return [];
    if (g.type === "Point") return [g.coordinates];
    if (g.type === "LineString") return g.coordinates;
    if (g.type === "MultiLineString" || g.type === "Polygon") return g.coordinates.flat();
    if (g.type === "MultiPolygon") return g.coordinates.flat(2);
    return [];
  }

  //: Published H3 res-8 cells (the same filters and period as the map) as the places of the
  //: list: counts (rounded for non-analysts), the after-school share and the monthly trend.
  async function cellTable(extraFilter) {
    const base = { resolution: String(MAX_PUBLIC_RESOLUTION) };
    const q = params(base, { filtersOnly: true });
    const preset = q.get("preset");
    const fd = new FormData(form);
    const before = (fd.get("compare_period") || "").trim() || previousPeriod((fd.get("period") || "").trim());
    // one after another: each is a computation on the server, which runs only a few at once
    const cells = await allFeatures(`/ogc/collections/h3-cells/items?${q}`);
    const trend = await allFeatures(`/ogc/collections/emerging-cells/items?${q}`).catch(() => ({ features: [] }));
    const after = preset === "school-run"
      ? await allFeatures(`/ogc/collections/h3-cells/items?${params({ ...base, preset: "after-school" }, { filtersOnly: true })}`).catch(() => null)
      : null;
    const prev = before
      ? await allFeatures(`/ogc/collections/h3-cells/items?${params({ ...base, datetime: before }, { filtersOnly: true })}`).catch(() => null)
      : null;
    const trendBy = new Map(trend.features.map((f) => [f.properties.cell || f.id, trendWords(f.properties.trend)]));
    if (prev) {
      // against the previous published period: both counts rounded, 1-9 not shown
      const was = new Map(prev.features.map((f) => [f.properties.cell || f.id, f.properties.count]));
      for (const f of cells.features) {
        const id = f.properties.cell || f.id;
        const now = f.properties.count;
        const then = was.get(id);
        if (typeof now !== "number") continue;
        trendBy.set(id, typeof then !== "number" ? `up from under 10 in ${before}`
          : now > then ? `up from ${fmtCount(then)} in ${before}` : now < then ? `down from ${fmtCount(then)} in ${before}` : `same as ${before}`);
      }
    }
    const gap = prev ? sourceGap(cells, prev, before, (fd.get("period") || "").trim()) : "";
    if (gap) for (const [id, words] of trendBy) trendBy.set(id, `${words} (not like for like)`);
    const afterBy = after ? new Map(after.features.map((f) => [f.properties.cell || f.id, f.properties.count])) : null;
    let rows = cells.features.filter((f) => typeof f.properties.count === "number" && f.properties.count > 0);
    if (extraFilter) rows = rows.filter(extraFilter);
    rows.sort((a, b) => b.properties.count - a.properties.count);
    return {
      rows: rows.map((f) => {
        const id = f.properties.cell || f.id;
        const pm = afterBy ? afterBy.get(id) : undefined;
        let times = PRESETS[preset] || preset;
        if (afterBy) {
          times = typeof pm === "number" && pm > 0
            ? pm * 2 >= f.properties.count ? `after school (${fmtCount(pm)} of ${fmtCount(f.properties.count)})` : `mornings (${fmtCount(Math.max(0, f.properties.count - pm))} of ${fmtCount(f.properties.count)})`
            : "mornings (after school: under 10)";
        }
        return { feature: f, id, name: placeName(f), count: f.properties.count, times, trend: trendBy.get(id) || trendWords(null) };
      }),
      suppressed: cells.features.length - cells.features.filter((f) => typeof f.properties.count === "number").length,
      excluded: [gap, describeExcluded(cells)].filter(Boolean).join(" "),
    };
  }

  //: The published period before ``p`` (2025 -> 2024, 2025-Q1 -> 2024-Q4, 2025-03 -> 2025-02).
  function previousPeriod(p) {
    let m = /^(\d{4})$/.exec(p);
    if (m) return String(+m[1] - 1);
    m = /^(\d{4})-Q([1-4])$/.exec(p);
    if (m) return +m[2] === 1 ? `${+m[1] - 1}-Q4` : `${m[1]}-Q${+m[2] - 1}`;
    m = /^(\d{4})-(\d{2})$/.exec(p);
    if (m) return +m[2] === 1 ? `${+m[1] - 1}-12` : `${m[1]}-${String(+m[2] - 1).padStart(2, "0")}`;
    return "";
  }

  function trendWords(t) {
    if (!t || t === "none" || t === "no_pattern") return "no clear trend";
    return String(t).replace(/_/g, " ");
  }

  function showPlaces(title, note, rows, cols) {
    const box = $("#places");
    box.hidden = false;
    $("#places-title").textContent = title;
    $("#places-note").textContent = note;
    const head = ["", "place", ...cols.map((c) => c[0])];
    box.querySelector("thead").innerHTML = `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
    const body = box.querySelector("tbody");
    body.innerHTML = rows.map((r, i) => `<tr data-i="${i}"><td class="n">${i + 1}</td><td>${esc(r.name)}</td>` +
      cols.map(([, get, num]) => `<td${num ? ' class="n"' : ""}>${esc(get(r))}</td>`).join("") + "</tr>").join("");
    for (const tr of body.querySelectorAll("tr")) {
      tr.addEventListener("click", () => map.fitBounds(L.geoJSON(rows[+tr.dataset.i].feature).getBounds(), { maxZoom: 16 }));
    }
    groups.places.clearLayers();
    rows.forEach((r, i) => {
      const b = L.geoJSON(r.feature).getBounds();
      L.geoJSON(r.feature, { pane: "corridors", interactive: false, style: { color: "#000", weight: 2, fill: false } }).addTo(groups.places);
      // the number only: a click goes through to the layer drawn underneath, and its popup
      L.marker(b.getCenter(), {
        icon: L.divIcon({ className: "place-no", html: String(i + 1), iconSize: [20, 20] }),
        interactive: false,
        keyboard: false,
      }).addTo(groups.places);
    });
    state.places = rows.map((r) => ({ name: r.name, count: r.count, times: r.times, trend: r.trend }));
    state.placesReason = rows.length ? null : note;
  }

  const countLabel = () => (state.role === "analyst" ? "incidents" : "incidents (rounded to 5)");

  async function neighbourhoodSummary() {
    const t = await cellTable();
    const note = t.rows.length
      ? `Published H3 cells in your wards, busiest first (${PRESETS[new FormData(form).get("preset")]}). Cells with 1-9 incidents are not shown.`
      : `No cell in your wards has 10 or more incidents for ${PRESETS[new FormData(form).get("preset")]} in this period, so nothing can be listed without identifying people. Try "All day" or a longer period.`;
    const top = t.rows.slice(0, 10);
    showPlaces("Your area: where incidents happen", `${note}${t.excluded ? ` ${t.excluded}` : ""}`, top,
      [[countLabel(), (r) => fmtCount(r.count), true], ["when", (r) => r.times], ["trend", (r) => r.trend]]);
    if (top.length) map.fitBounds(L.featureGroup(top.map((r) => L.geoJSON(r.feature))).getBounds(), { maxZoom: 15, animate: false, ...viewPadding() });
  }

  async function drawSchool() {
    const opt = $("#school").selectedOptions[0];
    groups.corridors.clearLayers();
    state.corridors = 0;
    if (!opt || !opt.value) return;
    status("Routing the school's journeys…");
    const q = params({ school: opt.value }, { filtersOnly: true });
    const fc = await allFeatures(`/ogc/collections/journey-corridors/items?${q}`);
    const maxP = Math.max(1, ...fc.features.map((f) => f.properties.pupils || 0));
    state.corridorPolygons = fc.features.some((f) => f.geometry.type.endsWith("Polygon"));
    const corridors = L.geoJSON(fc, {
      pane: "corridors",
      style: (f) => (f.geometry.type.endsWith("Polygon")
        ? { color: "#3f007d", weight: 1, fillColor: "#807dba", fillOpacity: 0.1 + 0.35 * ((f.properties.pupils || 0) / maxP) }
        : { color: "#3f007d", opacity: 0.8, weight: 2 + 6 * ((f.properties.pupils || 0) / maxP) }),
      onEachFeature: (f, l) => l.bindPopup(() => popupHtml(f, "Pupils' walks")),
    }).addTo(groups.corridors);
    state.corridors = fc.features.length;
    // the places along the walks: published cells that the corridors cross
    const byCell = new Map();
    for (const f of fc.features) if (f.properties.cell) byCell.set(f.properties.cell, f);
    const pts = state.corridorPolygons ? [] : fc.features.flatMap((f) => vertices(f.geometry));
    const t = await cellTable((cell) => (byCell.size ? byCell.has(cell.properties.cell || cell.id) : cellHas(cell, pts)));
    for (const r of t.rows) {
      const cf = byCell.get(r.id);
      if (cf) r.pupils = typeof cf.properties.pupils === "number" ? cf.properties.pupils : null;
      else {
        // the analyst's corridors are street stretches: the most pupils on one stretch in the cell
        const on = fc.features.filter((f) => typeof f.properties.pupils === "number" && cellHas(r.feature, vertices(f.geometry)));
        r.pupils = on.length ? Math.max(...on.map((f) => f.properties.pupils)) : null;
      }
    }
    const top = t.rows.slice(0, 10);
    const preset = PRESETS[new FormData(form).get("preset")];
    let note;
    if (!fc.features.length) {
      note = "Fewer than 10 pupils share any part of a route, so no walk can be shown without identifying them.";
    } else if (!top.length) {
      note = `Pupils' walks cross ${plural(fc.features.length, "area")}; none has 10 or more incidents for ${preset} in this period (cells with 1-9 are not shown).`;
    } else {
      note = state.role === "analyst"
        ? `Places on the pupils' walks with the most incidents (${preset}); exact counts (an incident along a bus-route stretch is shared between the cells it crosses); pupils passing: the most pupils on one stretch of walk in the cell. Click a row to zoom.`
        : `Places on your pupils' walks with the most incidents (${preset}); counts are rounded to 5 and cells with 1-9 are not shown. Click a row to zoom.`;
    }
    showPlaces(`${opt.textContent}: places along pupils' walks`, `${note}${t.excluded ? ` ${t.excluded}` : ""}`, top,
      [[countLabel(), (r) => fmtCount(r.count), true], ["pupils passing", (r) => fmtCount(r.pupils), true], ["when", (r) => r.times], ["trend", (r) => r.trend]]);
    state.schoolLoads = (state.schoolLoads || 0) + 1;
    if (top.length) map.fitBounds(L.featureGroup(top.map((r) => L.geoJSON(r.feature))).getBounds(), { maxZoom: 16, animate: false, ...viewPadding() });
    else if (fc.features.length) map.fitBounds(corridors.getBounds(), { maxZoom: 16, animate: false });
    else map.setView([+opt.dataset.lat, +opt.dataset.lon], 15);
    $("#school-info").innerHTML = `${plural(fc.features.length, state.corridorPolygons ? "area" : "stretch", state.corridorPolygons ? "areas" : "stretches")} on pupils' walks. <a href="/maps/schools/${esc(opt.value)}">printable map</a>`;
    state.alongHotspots = top.length;
    status(`${plural(state.corridors, "corridor feature")} for ${opt.textContent}; ${plural(top.length, "place")} listed.`);
    redrawLegend();
  }

  //: The legend again, after the list of places changed (its "numbered outlines" row).
  function redrawLegend() {
    const fd = new FormData(form);
    legend(fd.get("method"), { features: state.hotspotFeatures || [] }, (state.legend || {}).classes || [], (state.legend || {}).field, (fd.get("compare_period") || "").trim());
  }

  // ---------------------------------------------------------------- wiring
  form.elements.method.addEventListener("change", (e) => showMethod(e.target.value));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh().catch((err) => status(err.message, true));
  });
  $("#school").addEventListener("change", () => drawSchool().catch((err) => status(err.message, true)));
  $("#print").addEventListener("click", () => window.print());
  $("#places-hide").addEventListener("click", () => { $("#places").hidden = true; });
  $("#logout").addEventListener("click", async (e) => {
    e.preventDefault();
    try { await fetch("/session", { method: "DELETE", credentials: "same-origin" }); } finally { window.location.href = "/login"; }
  });

  //: The analyst's list: the layer's features, densest first, named by place.
  function analystList() {
    // a cell with no incident is not a "densest place" (every cell of a store whose
    // incidents lie outside the mapped area has density 0)
    const feats = (state.hotspotFeatures || []).filter((f) => typeof f.properties.density === "number" && f.properties.density > 0);
    if (!feats.length) {
      // nothing to list (e.g. emerging hotspots carry no density): the numbered outlines of
      // the previous layer's list must go with it, or they point at a list no longer shown
      $("#places").hidden = true;
      groups.places.clearLayers();
      const listed = state.places.length;
      state.places = [];
      if (listed) redrawLegend();
      return;
    }
    const rows = feats.slice().sort((a, b) => b.properties.density - a.properties.density).slice(0, 10)
      .map((f) => ({ feature: f, name: placeName(f), count: f.properties.count ?? f.properties.n_incidents ?? null, density: f.properties.density }));
    const split = rows.some((r) => typeof r.count === "number" && !Number.isInteger(r.count));
    showPlaces("Densest places on this map", "Named by the nearest street and station, park or stop. Click a row to zoom." +
      (split ? " An incident known only along a stretch of bus route is shared between the cells it crosses, so counts can have decimals." : ""), rows,
      [["incidents per km²", (r) => fmtNum(r.density), true], ["incidents", (r) => fmtCount(r.count), true]]);
  }

  //: The analyst's places named in Fair Access Panel referrals' notes (``referral-places``):
  //: places of concern, not incidents, for the period of the map.
  async function drawReferralPlaces() {
    const fd = new FormData(form);
    const q = new URLSearchParams({ limit: "1000" });
    for (const k of ["start", "end"]) if (fd.get(k)) q.set(k, fd.get(k));
    groups.referrals.clearLayers();
    state.referralPlaces = 0;
    try {
      const fc = await allFeatures(`/ogc/collections/referral-places/items?${q}`);
      L.geoJSON(fc, {
        pointToLayer: (f, ll) => L.circleMarker(ll, { pane: "schools", radius: 5, color: "#7f2704", weight: 1, fillColor: "#f16913", fillOpacity: 0.9 }),
        onEachFeature: (f, l) => l.bindPopup(() => referralPopup(f)),
      }).addTo(groups.referrals);
      state.referralPlaces = fc.features.length;
    } catch (err) {
      state.referralPlacesError = err.message;  // the hotspot layer is what the status reports
    }
  }

  function referralPopup(f) {
    const p = f.properties || {};
    const rows = [
      ["referrals naming it", p.referrals],
      ["in peer-group notes", p.named_in_peer_group_notes],
      ["in school notes", p.named_in_school_notes],
      ["in neighbourhood notes", p.named_in_neighbourhood_notes],
      ["schools of those referrals", p.schools],
      ["kind", p.kind],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "");
    return `<b>Named in referrals: ${esc(p.place || f.id)}</b><table class="popup">` +
      rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") +
      "</table><div class=\"sub\">A place of concern from the notes, not an incident.</div>";
  }

  //: Safe places (youth clubs, police stations, staffed stations...): public reference data,
  //: the same points for every role. An empty layer says why (the server's reason).
  async function drawSafePlaces() {
    groups.safe.clearLayers();
    state.safePlaces = 0;
    try {
      const fc = await allFeatures("/ogc/collections/safe-places/items?limit=1000");
      L.geoJSON(fc, {
        pointToLayer: (f, ll) => L.circleMarker(ll, { pane: "schools", radius: 5, color: "#00441b", weight: 1, fillColor: "#31a354", fillOpacity: 0.9 }),
        onEachFeature: (f, l) => l.bindPopup(() => {
          const p = f.properties || {};
          return `<b>Safe place: ${esc(p.name || f.id)}</b><table class="popup"><tr><th>kind</th><td>${esc(p.kind_label || p.kind || "")}</td></tr>` +
            `<tr><th>opening hours</th><td>${esc(p.opening_hours || "not known")}</td></tr></table>`;
        }),
      }).addTo(groups.safe);
      state.safePlaces = fc.features.length;
      state.safePlacesReason = fc.features.length ? null : (fc.note || "none have been imported");
    } catch (err) {
      state.safePlacesReason = err.message;
    }
  }

  const MONTH_WORDS = (m) => (m ? fmtDate(`${m}-01`).replace(/^1 /, "") : "");

  //: Interventions. The analyst: the logged areas with what, when and the last evaluation.
  //: Others: published cells with the months and an evaluation from published counts only
  //: (banded, or the reason it cannot be given); what was done stays in the analyst's log.
  async function drawInterventions() {
    groups.interventions.clearLayers();
    state.interventions = 0;
    state.interventionsReason = null;
    const analyst = state.role === "analyst";
    let fc;
    try {
      fc = await getJSON(analyst ? "/interventions/map" : "/interventions/published");
    } catch (err) {
      state.interventionsReason = `Interventions not shown: ${err.message}`;
      return;
    }
    L.geoJSON(fc, {
      pane: "compare",
      style: () => ({ color: "#006d2c", weight: 2, dashArray: "6 4", fill: false }),
      onEachFeature: (f, l) => l.bindPopup(() => (analyst ? analystIntervention(f) : publishedIntervention(f))),
    }).addTo(groups.interventions);
    state.interventions = fc.features.length;
    if (!fc.features.length) {
      state.interventionsReason = analyst
        ? "No intervention logged (geosafe intervention add)."
        : state.role === "neighbourhood" ? "No logged intervention touches your wards." : "No intervention logged in the area.";
    }
  }

  function analystIntervention(f) {
    const p = f.properties || {};
    const e = p.evaluation;
    const rows = [
      ["where", `${p.where_kind}: ${p.where_ref}`],
      ["from", fmtDate(p.started_on)],
      ["to", p.ended_on ? fmtDate(p.ended_on) : "running"],
      ["area, km²", p.area_km2],
      ["change after it", e ? e.reading : "not evaluated yet (geosafe intervention evaluate)"],
    ];
    if (e) rows.push(["displacement", e.displacement], ["comparison", (e.comparison || []).join(", ")], ["evaluated", fmtDate(e.evaluated_at || "")]);
    return `<b>Intervention ${esc(p.id)}: ${esc(p.what)}</b><table class="popup">` +
      rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") + "</table>";
  }

  function publishedIntervention(f) {
    const p = f.properties || {};
    const iv = p.intervention || {};
    const rows = [
      ["where", `${plural((p.cells || []).length, "published cell")} (${iv.where_kind} given by the analyst)`],
      ["from", MONTH_WORDS(iv.started)],
      ["to", iv.ended ? MONTH_WORDS(iv.ended) : "running"],
      ["change after it", p.evaluated ? p.reading : `not shown: ${p.reason}`],
    ];
    if (p.evaluated) rows.push(["displacement", p.displacement]);
    return `<b>Intervention ${esc(f.id)}</b><table class="popup">` +
      rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") +
      `</table><div class="sub">${esc(p.rules || "")}. What was done is in the analyst's log.</div>`;
  }

  async function refresh() {
    try {
      if (state.role === "analyst") await drawReferralPlaces();
      await drawHotspots();
      if ($("#school").value) await drawSchool();
      else if (state.role === "neighbourhood") await neighbourhoodSummary();
      else if (state.role === "analyst") analystList();
    } finally {
      state.refreshes = (state.refreshes || 0) + 1;
    }
  }

  (async function start() {
    try {
      const who = await getJSON("/session");
      state.role = who.role;
      state.school = who.school_urn;
      $("#who").textContent = `${who.label} (${who.role}${who.school_urn ? `, school ${who.school_urn}` : ""})`;
      applyRole(who.role);
      if (who.role === "analyst") {
        groups.referrals.addTo(map);
        control.addOverlay(groups.referrals, "Places named in referrals (analyst)");
      }
      showMethod(form.elements.method.value);
      const meta = await getJSON("/ogc/collections/hotspots-kde");
      $("#banner").hidden = !meta["geosafe:synthetic"];  // real data only: no banner
      document.body.classList.toggle("real-data", !meta["geosafe:synthetic"]);
      await drawBasemap();
      await loadSchools();
      await drawSafePlaces();
      await drawInterventions();
      if (state.role === "school" && state.school) $("#school").value = state.school;
      await refresh();
    } catch (err) {
      status(err.message, true);
    }
  })();
})();
