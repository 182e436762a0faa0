/* geosafe map page: Leaflet (vendored), data from this server's OGC API only.
   No tiles: the basemap is the bundled streets, parks, wards and schools (/maps/basemap.json).
   The session cookie (from /login) authenticates every request (same origin). */
(function () {
  "use strict";

  const DENSITY = [[0, "#fee5d9"], [20, "#fcae91"], [50, "#fb6a4a"], [100, "#de2d26"], [200, "#a50f15"]];
  const GI = { hot_99: "#a50f15", hot_95: "#de2d26", hot_90: "#fb6a4a", cold_99: "#08519c", cold_95: "#3182bd", cold_90: "#6baed6" };
  const state = { basemap: 0, hotspots: 0, compare: 0, corridors: 0, role: null, loads: 0, error: null };
  window.geosafeState = state;

  const map = L.map("map", { preferCanvas: false, zoomControl: true });
  for (const [name, z] of [["basemap", 200], ["hotspots", 410], ["compare", 420], ["corridors", 430], ["schools", 440]]) {
    map.createPane(name).style.zIndex = z;
  }
  const baseRenderer = L.canvas({ pane: "basemap" });
  const groups = {
    hotspots: L.layerGroup().addTo(map),
    compare: L.layerGroup().addTo(map),
    corridors: L.layerGroup().addTo(map),
  };
  const control = L.control.layers(null, null, { collapsed: false }).addTo(map);
  control.addOverlay(groups.hotspots, "Hotspots (main period)");
  control.addOverlay(groups.compare, "Hotspots (comparison period)");
  control.addOverlay(groups.corridors, "School journey corridors");
  L.control.scale({ imperial: false }).addTo(map);

  const $ = (sel) => document.querySelector(sel);
  const form = $("#filters");
  const status = (text, error) => {
    const el = $("#status");
    el.textContent = text;
    el.classList.toggle("error", !!error);
    if (error) state.error = text;
  };

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } });
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
    while (next) {
      const fc = await getJSON(next);
      feats.push(...fc.features);
      const link = (fc.links || []).find((l) => l.rel === "next");
      next = link ? link.href : null;
    }
    return { type: "FeatureCollection", features: feats };
  }

  function densityColour(v) {
    let c = DENSITY[0][1];
    for (const [lo, col] of DENSITY) if (v != null && v >= lo) c = col;
    return c;
  }

  function params(extra) {
    const fd = new FormData(form);
    const q = new URLSearchParams();
    const sources = fd.getAll("source");
    const method = fd.get("method");
    if (state.role === "analyst") {
      if (sources.length && sources.length < 4) q.set("sources", sources.join(","));
      for (const k of ["categories", "flags", "start", "end"]) if (fd.get(k)) q.set(k, fd.get(k));
    }
    q.set("preset", fd.get("preset"));
    if (fd.get("period")) q.set("datetime", fd.get("period"));
    const box = document.querySelector(`[data-method="${method}"]`);
    for (const input of box.querySelectorAll("input, select")) if (input.value) q.set(input.name, input.value);
    if (state.role !== "analyst" && q.get("resolution") && +q.get("resolution") > 8) q.set("resolution", "8");
    for (const [k, v] of Object.entries(extra || {})) { if (v) q.set(k, v); else q.delete(k); }
    q.set("limit", "1000");
    return q;
  }

  function hotspotStyle(method, outline) {
    return (f) => {
      const p = f.properties || {};
      if (outline) return { pane: "compare", color: "#08519c", weight: 2, fill: false, dashArray: "5 3" };
      if (method === "h3-cells") {
        const c = GI[p.hotspot];
        return { pane: "hotspots", color: "#555", weight: 0.4, fillColor: c || "#ffffff", fillOpacity: c ? 0.6 : 0.05 };
      }
      return { pane: "hotspots", color: "#67000d", weight: 1, fillColor: densityColour(p.density), fillOpacity: 0.65 };
    };
  }

  function popup(f) {
    const p = f.properties || {};
    return Object.entries(p).filter(([, v]) => v !== null && typeof v !== "object")
      .map(([k, v]) => `<b>${k}</b>: ${typeof v === "number" ? Math.round(v * 100) / 100 : v}`).join("<br>");
  }

  async function drawHotspots() {
    const method = new FormData(form).get("method");
    const q = params();
    status("Computing hotspots…");
    $("#map-link").href = `/maps/hotspots?${params({ limit: "" }).toString()}`;
    const fc = await allFeatures(`/ogc/collections/${method}/items?${q}`);
    groups.hotspots.clearLayers();
    L.geoJSON(fc, { pane: "hotspots", style: hotspotStyle(method, false), onEachFeature: (f, l) => l.bindPopup(popup(f)) }).addTo(groups.hotspots);
    state.hotspots = fc.features.length;
    groups.compare.clearLayers();
    state.compare = 0;
    const fd = new FormData(form);
    const byDates = state.role === "analyst" && fd.get("compare_start") && fd.get("compare_end");
    if (byDates || fd.get("compare_period")) {
      const qc = byDates
        ? params({ start: fd.get("compare_start"), end: fd.get("compare_end"), datetime: "" })
        : params({ datetime: fd.get("compare_period"), start: "", end: "" });
      const other = await allFeatures(`/ogc/collections/${method}/items?${qc}`);
      L.geoJSON(other, { pane: "compare", style: hotspotStyle(method, true) }).addTo(groups.compare);
      state.compare = other.features.length;
    }
    state.loads += 1;
    status(`${state.hotspots} hotspot features` + (state.compare ? `, ${state.compare} in the comparison period` : "") + ".");
    legend(method);
  }

  function legend(method) {
    const rows = method === "h3-cells"
      ? Object.entries(GI).map(([k, c]) => `<div><i style="background:${c}"></i>${k.replace("_", " ")} % (Gi*, FDR)</div>`)
      : DENSITY.map(([lo, c], i) => {
        const hi = DENSITY[i + 1] ? DENSITY[i + 1][0] : null;
        return `<div><i style="background:${c}"></i>${hi ? `${lo}-${hi}` : `≥ ${lo}`} incidents per km²</div>`;
      });
    rows.push('<div><i class="line" style="border-color:#08519c"></i>comparison period (outline)</div>');
    rows.push('<div><i class="line" style="border-color:#3f007d"></i>journey corridor (pupils per stretch)</div>');
    $("#legend").innerHTML = `<b>${method === "h3-cells" ? "Gi* hot/cold cells" : "Hotspot density"}</b>${rows.join("")}` +
      '<div style="margin-top:4px;color:#a50f15">DIR/ASIF/CRIS/FAP: synthetic demo data</div>';
  }

  async function drawBasemap() {
    const b = await getJSON("/maps/basemap.json");
    const opts = (style) => ({ pane: "basemap", renderer: baseRenderer, interactive: false, style });
    L.geoJSON(b.wards, opts({ color: "#9e9ac8", weight: 1, fill: false, dashArray: "4 3" })).addTo(map);
    L.geoJSON(b.parks, opts({ color: "#74c476", weight: 0.5, fillColor: "#c7e9c0", fillOpacity: 0.6 })).addTo(map);
    L.geoJSON(b.streets, opts((f) => ({ color: "#bdbdbd", weight: /primary|trunk|secondary/.test(f.properties.highway) ? 2.2 : 1 }))).addTo(map);
    state.basemap = b.streets.features.length + b.parks.features.length + b.wards.features.length;
    const [x0, y0, x1, y1] = b.bounds;
    map.fitBounds([[y0, x0], [y1, x1]]);
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
  }

  async function drawSchool() {
    const opt = $("#school").selectedOptions[0];
    groups.corridors.clearLayers();
    state.corridors = 0;
    if (!opt || !opt.value) return;
    status("Routing the school's journeys…");
    const q = new URLSearchParams({ school: opt.value, preset: new FormData(form).get("preset"), limit: "1000" });
    const fc = await allFeatures(`/ogc/collections/journey-corridors/items?${q}`);
    const maxP = Math.max(1, ...fc.features.map((f) => f.properties.pupils || 0));
    const lines = L.geoJSON(fc, {
      pane: "corridors",
      style: (f) => (f.geometry.type.endsWith("Polygon")
        ? { color: "#3f007d", weight: 1, fillColor: "#807dba", fillOpacity: 0.15 + 0.5 * ((f.properties.pupils || 0) / maxP) }
        : { color: "#3f007d", opacity: 0.85, weight: 2 + 6 * ((f.properties.pupils || 0) / maxP) }),
      onEachFeature: (f, l) => l.bindPopup(popup(f)),
    }).addTo(groups.corridors);
    state.corridors = fc.features.length;
    state.schoolLoads = (state.schoolLoads || 0) + 1;
    if (fc.features.length) map.fitBounds(lines.getBounds(), { maxZoom: 16 });
    else map.setView([+opt.dataset.lat, +opt.dataset.lon], 15);
    // hotspots along the corridors: those whose outline meets a corridor feature's bounds
    const along = [];
    const corridorBounds = [];
    lines.eachLayer((l) => corridorBounds.push(l.getBounds()));
    groups.hotspots.eachLayer((gj) => gj.eachLayer((h) => {
      const hb = h.getBounds ? h.getBounds() : null;
      const hit = hb && corridorBounds.some((cb) => cb.intersects(hb));
      if (hit) along.push(h.feature);
      if (h.setStyle) h.setStyle(hit ? { weight: 3, color: "#000" } : { weight: 1, color: "#67000d" });
    }));
    state.alongHotspots = along.length;
    const what = state.role === "analyst" ? "corridor stretches (pupils per street)" : "areas crossed by 10 or more pupils (H3 cells, counts rounded to 5)";
    const none = fc.features.length ? "" : " Fewer than 10 pupils share any part of a route, so nothing can be shown without identifying them.";
    const hs = along.length ? ` ${along.length} hotspot(s) along them (black outline): ` +
      along.map((f) => `#${f.properties.rank ?? f.id} (${Math.round(f.properties.density || 0)} incidents per km²)`).join(", ") + "." : "";
    $("#school-info").innerHTML = `${fc.features.length} ${what}.${none}${hs} <a href="/maps/schools/${opt.value}">printable map</a>`;
    status(`${state.corridors} corridor features for ${opt.textContent}.`);
  }

  document.querySelector('[name="method"]').addEventListener("change", (e) => {
    for (const box of document.querySelectorAll("[data-method]")) box.hidden = box.dataset.method !== e.target.value;
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    drawHotspots().catch((err) => status(err.message, true));
  });
  $("#school").addEventListener("change", () => drawSchool().catch((err) => status(err.message, true)));

  (async function start() {
    try {
      const who = await getJSON("/session");
      state.role = who.role;
      state.school = who.school_urn;
      $("#who").textContent = `Logged in as ${who.label} (${who.role}${who.school_urn ? `, school ${who.school_urn}` : ""}).`;
      document.body.classList.toggle("not-analyst", who.role !== "analyst");
      const meta = await getJSON("/ogc/collections/hotspots-kde");
      $("#banner").hidden = !meta["geosafe:synthetic"];  // real data only: no banner
      await drawBasemap();
      await loadSchools();
      await drawHotspots();
      if (state.role === "school" && state.school) {
        // a school sees its own pupils' corridors straight away (its token names the school)
        $("#school").value = state.school;
        await drawSchool();
      }
    } catch (err) {
      status(err.message, true);
    }
  })();
})();
