// sentvec web page: run a knowledge base (upload, review, drop), search it with the answer
// highlighted, judge the hits, and draw its cluster map. Plain JS + SVG, no network besides
// this server. The search (collection, query, mode, k, facets) lives in the URL to share it.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"];
const colour = (c) => (c < 0 ? "#c8c8c8" : PALETTE[c % PALETTE.length]);
const ACTIVE = ["receiving", "parsing", "queued", "running"];
let mapData = null;
let searchSeq = 0;
let mapSeq = 0;
let timer = null;
let jobTimer = null;
let facetValues = {}; // column -> value chosen ("" = any)
let lastQuery = "";

// -- talking to the server -------------------------------------------------------------------

function headers(json = true) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = $("apikey").value || localStorage.getItem("sentvec-key") || "";
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function api(path, body, method) {
  const opts = body === undefined ? { method: method || "GET", headers: headers() }
    : { method: method || "POST", headers: headers(), body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
  return data;
}

const enc = encodeURIComponent;
const current = () => $("collection").value;

function setStatus(text, error) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// -- the URL holds the search ----------------------------------------------------------------

function readUrl() {
  const p = new URLSearchParams(location.search);
  if (p.get("q")) $("query").value = p.get("q");
  if (p.get("mode")) $("mode").value = p.get("mode");
  if (p.get("k")) $("k").value = p.get("k");
  facetValues = {};
  for (const [key, value] of p) if (key.startsWith("f.")) facetValues[key.slice(2)] = value;
  return p.get("c");
}

function writeUrl() {
  const p = new URLSearchParams();
  if (current()) p.set("c", current());
  const q = $("query").value.trim();
  if (q) p.set("q", q);
  p.set("mode", $("mode").value);
  p.set("k", $("k").value);
  for (const [col, value] of Object.entries(facetValues)) if (value) p.set("f." + col, value);
  history.replaceState(null, "", "?" + p.toString());
}

// -- collections -----------------------------------------------------------------------------

async function loadCollections(wanted) {
  const { collections, details } = await api("/collections?details=true");
  const sel = $("collection");
  const keep = wanted || sel.value;
  sel.innerHTML = "";
  for (const name of collections) {
    const o = el("option", "", name);
    o.value = name;
    sel.appendChild(o);
  }
  $("collection-names").innerHTML = "";
  for (const name of collections) {
    const o = el("option");
    o.value = name;
    $("collection-names").appendChild(o);
  }
  if (keep && collections.includes(keep)) sel.value = keep;
  renderCollectionsTable(details || []);
  if (collections.length) {
    await switchCollection(false);
  } else {
    clearMap("No collection yet");
    setStatus("No collection yet: upload a knowledge base under Manage knowledge bases.");
    $("manage").hidden = false;
    $("manage-toggle").setAttribute("aria-expanded", "true");
  }
}

function size(bytes) {
  if (bytes == null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function renderCollectionsTable(details) {
  const body = $("collections-table").querySelector("tbody");
  body.innerHTML = "";
  for (const d of details) {
    const tr = el("tr");
    tr.dataset.name = d.name;
    for (const v of [d.name, d.documents, d.passages, d.model, size(d.disk_bytes)]) {
      tr.appendChild(el("td", "", v == null ? (d.error || "") : String(v)));
    }
    const td = el("td");
    const b = el("button", "danger drop", "Drop");
    b.type = "button";
    b.addEventListener("click", () => askDrop(d.name));
    td.appendChild(b);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function askDrop(name) {
  $("drop-box").hidden = false;
  $("drop-name").textContent = name;
  $("drop-confirm").value = "";
  $("drop-go").disabled = true;
  $("drop-confirm").focus();
}

$("drop-confirm").addEventListener("input", () => {
  $("drop-go").disabled = $("drop-confirm").value !== $("drop-name").textContent;
});
$("drop-cancel").addEventListener("click", () => { $("drop-box").hidden = true; });
$("drop-go").addEventListener("click", async () => {
  const name = $("drop-name").textContent;
  try {
    await api(`/collections/${enc(name)}?confirm=${enc($("drop-confirm").value)}`, undefined, "DELETE");
    $("drop-box").hidden = true;
    setStatus(`Dropped ${name}.`);
    await loadCollections();
  } catch (e) { setStatus(e.message, true); }
});

// -- uploads and their jobs ------------------------------------------------------------------

$("upload-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("upload-name").value.trim();
  const file = $("upload-file").files[0];
  if (!name || !file) return;
  setStatus(`Uploading ${file.name}...`);
  try {
    const r = await fetch(`/collections/${enc(name)}/uploads?filename=${enc(file.name)}`,
      { method: "POST", headers: headers(false), body: file });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    setStatus(`${file.name} uploaded; reading it...`);
    $("upload-file").value = "";
    pollJobs();
  } catch (e) { setStatus(e.message, true); }
});

async function pollJobs() {
  clearTimeout(jobTimer);
  let jobs = [];
  try { ({ jobs } = await api("/jobs")); } catch (e) {
    jobTimer = setTimeout(pollJobs, 5000);
    return;
  }
  renderJobs(jobs.slice(0, 8));
  // fast while a job runs; while the manager is open, slowly too: another tab may upload
  const active = jobs.some((j) => ACTIVE.includes(j.status));
  if (active) jobTimer = setTimeout(pollJobs, 700);
  else if (!$("manage").hidden) jobTimer = setTimeout(pollJobs, 2000);
  const finished = jobs.find((j) => j.status === "done" && !seenDone.has(j.id));
  for (const j of jobs) if (j.status === "done") seenDone.add(j.id);
  if (finished && primed) loadCollections(finished.collection).catch(() => {});
  primed = true;
}
const seenDone = new Set();
let primed = false;

function renderJobs(jobs) {
  const box = $("jobs");
  box.innerHTML = "";
  if (!jobs.length) { box.appendChild(el("p", "hint", "No uploads yet.")); return; }
  for (const j of jobs) {
    const card = el("div", `job job-${j.status}`);
    card.dataset.id = j.id;
    card.dataset.status = j.status;
    card.appendChild(el("div", "job-head", `${j.filename} → ${j.collection}: ${j.status}`));
    if (j.passages_total || j.status === "running") {
      const bar = el("progress");
      bar.max = Math.max(j.passages_total, 1);
      bar.value = j.passages_done;
      card.appendChild(bar);
      card.appendChild(el("span", "job-progress", ` ${j.passages_done} / ${j.passages_total} passages`));
    }
    if (j.diff && j.diff.new !== undefined) {
      const d = j.diff;
      const p = el("p", "job-diff",
        `${d.new} new, ${d.changed} changed, ${d.unchanged} unchanged` +
        (d.collection_exists ? `, ${d.removed} no longer in the upload` : ""));
      card.appendChild(p);
      for (const [label, ids] of [["changed", d.changed_ids], ["no longer present", d.removed_ids]]) {
        if (ids && ids.length) card.appendChild(el("p", "job-ids", `${label}: ${ids.slice(0, 20).join(", ")}${ids.length > 20 ? " ..." : ""}`));
      }
    }
    if (j.error_count) {
      card.appendChild(el("p", "job-errors-head", `${j.error_count} line(s) could not be read:`));
      const ul = el("ul", "job-errors");
      for (const e of j.errors.slice(0, 20)) {
        ul.appendChild(el("li", "", `${e.file || ""}${e.line ? ":" + e.line : ""} ${e.message}`));
      }
      card.appendChild(ul);
    }
    if (j.status === "review") {
      const row = el("div", "job-actions");
      const lab = el("label");
      const cb = el("input");
      cb.type = "checkbox";
      cb.className = "remove-missing";
      lab.append(cb, ` also remove the ${j.diff.removed} article(s) no longer present`);
      if (j.diff.removed) row.appendChild(lab);
      const go = el("button", "apply", `Apply: store ${j.todo} document(s)`);
      go.type = "button";
      go.addEventListener("click", async () => {
        try {
          await api(`/jobs/${j.id}/apply`, { remove_missing: cb.checked });
          pollJobs();
        } catch (e) { setStatus(e.message, true); }
      });
      row.appendChild(go);
      card.appendChild(row);
    }
    if (j.status === "done" && j.result) {
      const r = j.result;
      card.appendChild(el("p", "job-result",
        `${r.added} added, ${r.updated} updated, ${r.removed || 0} removed, ${r.passages} passages written`));
    }
    if (j.message) card.appendChild(el("p", "job-message", j.message));
    box.appendChild(card);
  }
}

$("manage-toggle").addEventListener("click", () => {
  const open = $("manage").hidden;
  $("manage").hidden = !open;
  $("manage-toggle").setAttribute("aria-expanded", String(open));
  if (open) pollJobs();
});

// -- facets ----------------------------------------------------------------------------------

async function loadFacets() {
  const name = current();
  const box = $("facets");
  box.innerHTML = "";
  if (!name) return;
  let facets = [];
  try { ({ facets } = await api(`/collections/${enc(name)}/facets`)); } catch (e) { return; }
  if (name !== current()) return;
  for (const f of facets) {
    const lab = el("label", "facet", f.column + " ");
    const sel = el("select");
    sel.dataset.column = f.column;
    sel.setAttribute("aria-label", f.column);
    const any = el("option", "", "any");
    any.value = "";
    sel.appendChild(any);
    for (const v of f.values) {
      const o = el("option", "", `${v.value} (${v.count})`);
      o.value = v.value;
      sel.appendChild(o);
    }
    sel.value = facetValues[f.column] || "";
    sel.addEventListener("change", () => { facetValues[f.column] = sel.value; schedule(0); });
    lab.appendChild(sel);
    box.appendChild(lab);
  }
}

function filters() {
  const out = {};
  for (const [col, value] of Object.entries(facetValues)) if (value) out[col] = value;
  return Object.keys(out).length ? out : null;
}

// -- search ----------------------------------------------------------------------------------

async function search() {
  const query = $("query").value.trim();
  const seq = ++searchSeq;
  writeUrl();
  if (!query || !current()) { $("results").innerHTML = ""; highlight([]); setStatus(""); return; }
  const mode = $("mode").value;
  const body = { query, mode, k: Number($("k").value) || 5, filters: filters() };
  const t0 = performance.now();
  try {
    const { hits, reason } = await api(`/collections/${enc(current())}/search`, body);
    if (seq !== searchSeq) return; // a newer search is on its way
    lastQuery = query;
    renderHits(hits, reason, mode);
    $("results").dataset.query = query; // which query these results answer
    highlight(hits.map((h) => h.id));
    const ms = Math.round(performance.now() - t0);
    setStatus(hits.length ? `${hits.length} results in ${ms} ms` : `No good match (${ms} ms)`);
  } catch (e) {
    if (seq === searchSeq) setStatus(e.message, true);
  }
}

// the text with [a, b) marked, paragraphs kept; offsets are in `text` coordinates
function markedParagraphs(text, a, b) {
  const frag = document.createDocumentFragment();
  const re = /\n\s*\n/g;
  let start = 0;
  const spans = [];
  for (let m; (m = re.exec(text)); ) { spans.push([start, m.index]); start = m.index + m[0].length; }
  spans.push([start, text.length]);
  for (const [s, e] of spans) {
    if (e <= s) continue;
    const p = el("p");
    const lo = Math.max(a ?? -1, s), hi = Math.min(b ?? -1, e);
    if (a != null && lo < hi) {
      p.append(text.slice(s, lo));
      const mark = el("mark", "answer", text.slice(lo, hi));
      p.append(mark, text.slice(hi, e));
    } else {
      p.append(text.slice(s, e));
    }
    frag.appendChild(p);
  }
  return frag;
}

function renderHits(hits, reason, mode) {
  const ol = $("results");
  ol.innerHTML = "";
  if (!hits.length) {
    const li = el("li", "no-match");
    li.appendChild(el("strong", "", "No good match in this knowledge base."));
    li.appendChild(el("p", "", reason || "Nothing matched."));
    li.appendChild(el("p", "hint", "Try other words, another mode, or clear the filters."));
    ol.appendChild(li);
    return;
  }
  hits.forEach((h, rank) => ol.appendChild(hitCard(h, rank + 1, mode)));
}

function hitCard(h, rank, mode) {
  const li = el("li", "hit");
  li.dataset.id = h.id;
  const head = el("div", "hit-head");
  const title = h.url ? el("a", "hit-title", h.title || h.id) : el("span", "hit-title", h.title || h.id);
  if (h.url) { title.href = h.url; title.target = "_blank"; title.rel = "noopener noreferrer"; }
  head.appendChild(title);
  const category = h.metadata && h.metadata.category;
  if (category) head.appendChild(el("span", "chip", String(category)));
  const scoreLabel = mode === "text" ? `match ${h.score.toFixed(2)}` : `similarity ${h.score.toFixed(2)}`;
  const score = el("span", "hit-score", scoreLabel);
  score.title = mode === "hybrid" && h.fused != null
    ? `cosine similarity ${h.score.toFixed(3)}; fused rank score ${h.fused.toFixed(3)}`
    : (mode === "text" ? "BM25 text-match score" : "cosine similarity");
  head.appendChild(score);
  li.appendChild(head);

  const body = el("div", "hit-text");
  const a = h.answer_start != null ? h.answer_start - h.start : null;
  const b = h.answer_end != null ? h.answer_end - h.start : null;
  body.appendChild(markedParagraphs(h.text, a, b));
  li.appendChild(body);

  const actions = el("div", "hit-actions");
  const more = button("Show whole article", "expand");
  more.setAttribute("aria-expanded", "false");
  more.addEventListener("click", async () => {
    const open = more.getAttribute("aria-expanded") === "true";
    body.innerHTML = "";
    if (open) {
      body.appendChild(markedParagraphs(h.text, a, b));
      more.textContent = "Show whole article";
      more.setAttribute("aria-expanded", "false");
      return;
    }
    try {
      const doc = await api(`/collections/${enc(current())}/documents/${enc(h.id)}`);
      body.appendChild(markedParagraphs(doc.text, h.answer_start, h.answer_end));
      body.classList.add("whole");
      more.textContent = "Show less";
      more.setAttribute("aria-expanded", "true");
    } catch (e) { setStatus(e.message, true); }
  });
  const copyAnswer = button("Copy answer", "copy-answer");
  copyAnswer.addEventListener("click", () => copy(h.answer || h.text, copyAnswer));
  const copyLink = button("Copy link", "copy-link");
  copyLink.addEventListener("click", () => copy(h.url || location.href, copyLink));
  const up = button("Helpful", "judge up");
  up.title = "This answers the question (recorded for sentvec eval judgments)";
  const down = button("Not helpful", "judge down");
  down.title = "This does not answer the question";
  for (const [btn, label] of [[up, 1], [down, -1]]) {
    btn.addEventListener("click", async () => {
      try {
        await api(`/collections/${enc(current())}/judgments`,
          { query: lastQuery, id: h.id, label, passage: h.pid || null, mode, rank, score: h.score });
        up.classList.toggle("chosen", label === 1);
        down.classList.toggle("chosen", label === -1);
        setStatus(label === 1 ? "Thanks: marked as the right answer." : "Thanks: marked as not an answer.");
      } catch (e) { setStatus(e.message, true); }
    });
  }
  actions.append(more, copyAnswer, copyLink, up, down);
  li.appendChild(actions);
  return li;
}

function button(text, cls) {
  const b = el("button", cls, text);
  b.type = "button";
  return b;
}

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) { // no clipboard permission (http, or headless): a hidden textarea instead
    const t = el("textarea");
    t.value = text;
    document.body.appendChild(t);
    t.select();
    document.execCommand("copy");
    t.remove();
  }
  const was = btn.textContent;
  btn.dataset.copied = text;
  btn.textContent = "Copied";
  setTimeout(() => { btn.textContent = was; }, 1200);
}

// -- the map ---------------------------------------------------------------------------------

function highlight(ids) {
  const set = new Set(ids);
  for (const c of document.querySelectorAll("#map circle")) {
    c.classList.toggle("hit", set.has(c.dataset.id));
    c.classList.toggle("dim", set.size > 0 && !set.has(c.dataset.id));
  }
}

function clearMap(note) {
  mapData = null;
  $("map").innerHTML = "";
  $("cluster-list").innerHTML = "";
  $("tooltip").hidden = true;
  $("map-note").textContent = note || "";
}

async function loadMap() {
  const name = current();
  const seq = ++mapSeq;
  clearMap("(computing...)"); // no stale points or cluster list while the new map computes
  $("map-title").textContent = `Map of ${name}`;
  let data;
  try {
    data = await api(`/collections/${enc(name)}/map`);
  } catch (e) {
    if (seq === mapSeq) $("map-note").textContent = e.message;
    return;
  }
  if (seq !== mapSeq || name !== current()) return; // another collection was chosen meanwhile
  mapData = data;
  drawMap();
}

function drawMap() {
  const svg = $("map");
  svg.innerHTML = "";
  const S = 600, P = 20, W = 640;
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
  // labels: measured, kept inside the frame, moved up or down until they overlap none placed
  const placed = [];
  const H = 15, M = 4;
  const overlaps = (b) => placed.some((o) => b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h);
  for (const cl of mapData.clusters) {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("class", "label");
    t.setAttribute("fill", colour(cl.id));
    t.dataset.cluster = cl.id;
    t.textContent = cl.label;
    t.addEventListener("click", () => listCluster(cl.id));
    svg.appendChild(t);
    const w = Math.min(t.getComputedTextLength ? t.getComputedTextLength() : cl.label.length * 7, W - 2 * M);
    const [x0, y0] = pos(cl.x, cl.y);
    let box = null;
    for (let step = 0; step < 80; step++) {
      const dy = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * H;
      const x = Math.min(Math.max(x0 - w / 2, M), W - M - w);
      const y = Math.min(Math.max(y0 + dy - H + 3, M), W - M - H);
      const b = { x, y, w, h: H };
      if (!overlaps(b)) { box = b; break; }
    }
    box = box || { x: Math.min(Math.max(x0 - w / 2, M), W - M - w), y: Math.min(Math.max(y0 - H, M), W - M - H), w, h: H };
    placed.push(box);
    t.setAttribute("x", box.x.toFixed(1));
    t.setAttribute("y", (box.y + H - 3).toFixed(1));
  }
  $("map-note").textContent = `${mapData.points.length} documents, ${mapData.clusters.length} clusters (${mapData.method})`;
}

function showTip(ev, p) {
  const tip = $("tooltip");
  tip.textContent = p.text.length > 300 ? p.text.slice(0, 300) + "..." : p.text;
  const box = $("map-pane").getBoundingClientRect();
  tip.style.left = Math.min(ev.clientX - box.left + 12, box.width - 200) + "px";
  tip.style.top = ev.clientY - box.top + 12 + "px";
  tip.hidden = false;
}

function listCluster(id) {
  const cl = mapData.clusters.find((c) => c.id === id);
  const members = mapData.points.filter((p) => p.cluster === id);
  const div = $("cluster-list");
  div.innerHTML = "";
  const h = el("h3", "", `${cl ? cl.keywords.join(", ") : "no cluster"} (${members.length})`);
  h.style.color = colour(id);
  const ul = el("ul");
  for (const m of members) ul.appendChild(el("li", "", m.text));
  div.append(h, ul);
  highlight(members.map((m) => m.id));
}

// -- wiring ----------------------------------------------------------------------------------

async function switchCollection(resetFacets) {
  if (resetFacets) facetValues = {};
  writeUrl();
  $("results").innerHTML = "";
  loadMap(); // in the background: the search does not wait for the map
  await loadFacets();
  schedule(0);
}

function schedule(delay = 150) {
  clearTimeout(timer);
  timer = setTimeout(search, delay);
}

$("query").addEventListener("input", () => schedule());
$("mode").addEventListener("change", () => schedule(0));
$("k").addEventListener("input", () => schedule());
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
$("collection").addEventListener("change", () => { switchCollection(true); });
$("apikey").addEventListener("change", () => {
  localStorage.setItem("sentvec-key", $("apikey").value);
  loadCollections().catch((e) => setStatus(e.message, true));
});
const wanted = readUrl();
loadCollections(wanted).then(pollJobs).catch((e) => setStatus(e.message, true));
