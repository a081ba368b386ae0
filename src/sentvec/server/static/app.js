// sentvec web page: search a collection and draw its cluster map. Plain JS + SVG, no network
// besides this server.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"];
const colour = (c) => (c < 0 ? "#c8c8c8" : PALETTE[c % PALETTE.length]);
let mapData = null;
let searchSeq = 0;
let timer = null;

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("apikey").value || localStorage.getItem("sentvec-key") || "";
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function api(path, body) {
  const opts = body === undefined ? { headers: headers() }
    : { method: "POST", headers: headers(), body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  const data = await r.json();
  if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
  return data;
}

function setStatus(text, error) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function loadCollections() {
  const { collections } = await api("/collections");
  const sel = $("collection");
  sel.innerHTML = "";
  for (const name of collections) {
    const o = document.createElement("option");
    o.value = o.textContent = name;
    sel.appendChild(o);
  }
  if (collections.length) await loadMap();
  else setStatus("No collection yet: add one with `sentvec index` or POST /collections/NAME/documents.");
}

async function search() {
  const query = $("query").value.trim();
  const seq = ++searchSeq;
  if (!query) { $("results").innerHTML = ""; highlight([]); setStatus(""); return; }
  let filters = null;
  const raw = $("filters").value.trim();
  if (raw) {
    try { filters = JSON.parse(raw); } catch (e) { setStatus("Filters are not valid JSON.", true); return; }
  }
  const body = { query, mode: $("mode").value, k: Number($("k").value) || 5, filters };
  const t0 = performance.now();
  try {
    const { hits } = await api(`/collections/${encodeURIComponent($("collection").value)}/search`, body);
    if (seq !== searchSeq) return; // a newer search is on its way
    renderHits(hits);
    $("results").dataset.query = query; // which query these results answer
    highlight(hits.map((h) => h.id));
    setStatus(`${hits.length} results in ${Math.round(performance.now() - t0)} ms`);
  } catch (e) {
    if (seq === searchSeq) setStatus(e.message, true);
  }
}

function renderHits(hits) {
  const ol = $("results");
  ol.innerHTML = "";
  for (const h of hits) {
    const li = document.createElement("li");
    li.className = "hit";
    li.dataset.id = h.id;
    const head = document.createElement("div");
    head.className = "hit-head";
    head.innerHTML = `<span class="hit-score"></span><span class="hit-id"></span>`;
    head.children[0].textContent = h.score.toFixed(3);
    head.children[1].textContent = h.id;
    const text = document.createElement("div");
    text.className = "hit-text";
    text.textContent = h.text;
    const meta = document.createElement("div");
    meta.className = "hit-meta";
    meta.textContent = JSON.stringify(h.metadata);
    li.append(head, text, meta);
    ol.appendChild(li);
  }
}

function highlight(ids) {
  const set = new Set(ids);
  for (const c of document.querySelectorAll("#map circle")) {
    c.classList.toggle("hit", set.has(c.dataset.id));
    c.classList.toggle("dim", set.size > 0 && !set.has(c.dataset.id));
  }
}

async function loadMap() {
  const name = $("collection").value;
  $("map-title").textContent = `Map of ${name}`;
  $("map-note").textContent = "(computing...)";
  try {
    mapData = await api(`/collections/${encodeURIComponent(name)}/map`);
  } catch (e) {
    $("map-note").textContent = e.message;
    return;
  }
  drawMap();
}

function drawMap() {
  const svg = $("map");
  svg.innerHTML = "";
  const S = 600, P = 20;
  const pos = (x, y) => [P + x * S, P + (1 - y) * S];
  for (const p of mapData.points) {
    const [cx, cy] = pos(p.x, p.y);
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", cx.toFixed(1));
    c.setAttribute("cy", cy.toFixed(1));
    c.setAttribute("r", mapData.points.length > 2000 ? 2.5 : 4.5);
    c.setAttribute("fill", colour(p.cluster));
    c.dataset.id = p.id;
    c.dataset.cluster = p.cluster;
    c.addEventListener("mousemove", (ev) => showTip(ev, p));
    c.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
    c.addEventListener("click", () => listCluster(p.cluster));
    svg.appendChild(c);
  }
  const placed = [];
  for (const cl of mapData.clusters) {
    let [x, y] = pos(cl.x, cl.y);
    x = Math.min(Math.max(x, 70), 570);
    // nudge a label down until it overlaps none placed before it
    const w = cl.label.length * 7, h = 15;
    while (placed.some((b) => Math.abs(b.x - x) < (b.w + w) / 2 && Math.abs(b.y - y) < h)) y += h;
    placed.push({ x, y, w });
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", x.toFixed(1));
    t.setAttribute("y", y.toFixed(1));
    t.setAttribute("text-anchor", "middle");
    t.setAttribute("class", "label");
    t.setAttribute("fill", colour(cl.id));
    t.dataset.cluster = cl.id;
    t.textContent = cl.label;
    t.addEventListener("click", () => listCluster(cl.id));
    svg.appendChild(t);
  }
  $("map-note").textContent = `${mapData.points.length} points, ${mapData.clusters.length} clusters (${mapData.method})`;
}

function showTip(ev, p) {
  const tip = $("tooltip");
  tip.textContent = p.text.length > 300 ? p.text.slice(0, 300) + "..." : p.text;
  const box = $("map-pane").getBoundingClientRect();
  tip.style.left = ev.clientX - box.left + 12 + "px";
  tip.style.top = ev.clientY - box.top + 12 + "px";
  tip.hidden = false;
}

function listCluster(id) {
  const cl = mapData.clusters.find((c) => c.id === id);
  const members = mapData.points.filter((p) => p.cluster === id);
  const div = $("cluster-list");
  div.innerHTML = "";
  const h = document.createElement("h3");
  h.textContent = `${cl ? cl.keywords.join(", ") : "no cluster"} (${members.length})`;
  h.style.color = colour(id);
  const ul = document.createElement("ul");
  for (const m of members) {
    const li = document.createElement("li");
    li.textContent = m.text;
    ul.appendChild(li);
  }
  div.append(h, ul);
  highlight(members.map((m) => m.id));
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(search, 150);
}

$("query").addEventListener("input", schedule);
$("mode").addEventListener("change", schedule);
$("k").addEventListener("input", schedule);
$("filters").addEventListener("change", schedule);
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
$("collection").addEventListener("change", () => { loadMap(); schedule(); });
$("apikey").addEventListener("change", () => {
  localStorage.setItem("sentvec-key", $("apikey").value);
  loadCollections().catch((e) => setStatus(e.message, true));
});
loadCollections().catch((e) => setStatus(e.message, true));
