"""The HTML, CSS and JavaScript of the report page (one self-contained file)."""

from __future__ import annotations

CSS = """
:root { --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --accent: #2f6fdf;
        --warm: #e07a1f; --bg: #fff; --band: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
       "Microsoft YaHei", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 8px; border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 17px; margin: 22px 0 8px; }
main { padding: 0 28px 40px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 8px 0 12px; color: var(--muted); }
.facts b { color: var(--fg); font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.chart { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.chart .title { font-size: 14px; font-weight: 600; fill: var(--fg); }
.chart .tick { font-size: 11px; fill: var(--muted); }
.chart .label { font-size: 12px; fill: var(--fg); }
.chart .grid { stroke: #eef0f3; }
.chart .axis { stroke: #98a2b3; }
.chart .series { fill: none; stroke: var(--accent); stroke-width: 2; }
.chart .bar { fill: var(--accent); }
.chart .ref-yes { fill: var(--accent); fill-opacity: .55; }
.chart .ref-no { fill: var(--warm); fill-opacity: .7; }
.chart .ref-unknown { fill: #475467; fill-opacity: .45; }
.controls { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: end; padding: 10px 12px;
            background: var(--band); border: 1px solid var(--line); border-radius: 6px; }
.controls label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.controls input, .controls select { font: inherit; padding: 3px 6px; width: 9em;
            border: 1px solid var(--line); border-radius: 4px; }
#matching { margin: 8px 0; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eaecf0; text-align: right;
         font-variant-numeric: tabular-nums; }
th { position: sticky; top: 0; background: var(--bg); cursor: pointer; user-select: none;
     border-bottom: 2px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
td.word { font-size: 16px; }
button { font: inherit; margin: 10px 0; padding: 4px 14px; border: 1px solid var(--line);
         border-radius: 4px; background: var(--band); cursor: pointer; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
figure { margin: 0; }
figcaption, .note { color: var(--muted); font-size: 13px; margin: 6px 2px 0; }
.sample { margin: 0; padding-left: 1.4em; font-size: 16px; line-height: 1.9; }
.sample .w { border-bottom: 2px solid var(--accent); margin-right: .45em; }
td.text { text-align: left; font-size: 14px; min-width: 12em; max-width: 34em; }
#templates td.word { white-space: nowrap; }
"""

# The tables: filter, sort and page through the rows embedded as JSON. Values are set with
# textContent only, so no word can inject markup. One function drives every table; each
# table names its elements and its filter.
SCRIPT = """
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const num = function (id) {
    const v = $(id).value.trim();
    return v === "" ? null : Number(v);
  };
  function fmt(v, col) {
    if (v === null || v === undefined) return "–";
    if (col.type === "bool") return v ? "yes" : "no";
    if (col.type === "float") return v.toFixed(col.digits);
    if (col.type === "int") return v.toLocaleString("en-US");
    if (col.type === "list") return v.join(" | ");
    return String(v);
  }
  function makeTable(cfg) {
    const data = cfg.data;
    const cols = data.columns;
    const rows = data.rows.map(function (r, i) {
      return { r: r, rank: i + 1, len: data.lengths ? data.lengths[i] : null };
    });
    const idx = {};
    cols.forEach(function (c, i) { idx[c.key] = i; });
    const state = { key: "rank", dir: 1, limit: data.page };
    const headers = document.querySelectorAll("#" + cfg.table + " th");
    function value(row, key) {
      if (key === "rank") return row.rank;
      if (key === "length") return row.len;
      return row.r[idx[key]];
    }
    function compare(a, b) {
      const x = value(a, state.key), y = value(b, state.key);
      if (x === y) return a.rank - b.rank;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * state.dir;
    }
    function render() {
      const shown = rows.filter(function (row) { return cfg.matches(row, idx); }).sort(compare);
      const body = $(cfg.body);
      body.textContent = "";
      const frag = document.createDocumentFragment();
      shown.slice(0, state.limit).forEach(function (row) {
        const tr = document.createElement("tr");
        const rank = document.createElement("td");
        rank.textContent = row.rank;
        cols.forEach(function (col, i) {
          const td = document.createElement("td");
          td.textContent = fmt(row.r[i], col);
          if (i === 0) td.className = "word";
          if ((col.type === "text" || col.type === "list") && i > 0) td.className = "text";
          tr.appendChild(td);
          if (i === 0 && data.lengths) {
            const len = document.createElement("td");
            len.textContent = row.len;
            tr.appendChild(len);
          }
        });
        tr.appendChild(rank);
        frag.appendChild(tr);
      });
      body.appendChild(frag);
      const count = function (n) { return n.toLocaleString("en-US"); };
      $(cfg.matching).textContent = count(shown.length) + " of " + count(rows.length) +
        " " + cfg.noun + " match" + (cfg.note ? cfg.note() : "") +
        (shown.length > state.limit ? "; showing the first " + count(state.limit) : "");
      $(cfg.more).hidden = shown.length <= state.limit;
      headers.forEach(function (th) {
        th.setAttribute("aria-sort", th.dataset.key === state.key ?
          (state.dir > 0 ? "ascending" : "descending") : "none");
      });
    }
    headers.forEach(function (th) {
      th.addEventListener("click", function () {
        const key = th.dataset.key;
        if (state.key === key) state.dir = -state.dir;
        else { state.key = key; state.dir = (key === cols[0].key || key === "rank") ? 1 : -1; }
        render();
      });
    });
    cfg.inputs.forEach(function (id) {
      $(id).addEventListener("input", function () { state.limit = data.page; render(); });
    });
    $(cfg.more).addEventListener("click", function () { state.limit += data.page; render(); });
    render();
  }
  const data = JSON.parse($("ciyu-data").textContent);
  makeTable({
    data: data.words, table: "words", body: "words-body", matching: "matching", more: "more",
    noun: "words",
    inputs: ["search", "min-length", "max-length", "min-count", "min-cohesion", "in-reference"],
    note: function () {
      return $("in-reference").value === "no" ?
        " (not in the reference: the corpus's own words; choose “any” to see all)" : "";
    },
    matches: function (row, idx) {
      const q = $("search").value.trim();
      if (q !== "" && row.r[0].indexOf(q) < 0) return false;
      const minLen = num("min-length"), maxLen = num("max-length");
      if (minLen !== null && row.len < minLen) return false;
      if (maxLen !== null && row.len > maxLen) return false;
      const minCount = num("min-count");
      if (minCount !== null && row.r[idx.count] < minCount) return false;
      const minCoh = num("min-cohesion");
      if (minCoh !== null && !(row.r[idx.cohesion] >= minCoh)) return false;
      const ref = $("in-reference").value;
      if (ref !== "any" && "in_reference" in idx) {
        if (row.r[idx.in_reference] !== (ref === "yes")) return false;
      }
      return true;
    }
  });
  if (data.templates) {
    makeTable({
      data: data.templates, table: "templates", body: "templates-body",
      matching: "t-matching", more: "t-more", noun: "templates",
      inputs: ["t-search", "t-filler", "t-min-count", "t-min-fixed"],
      matches: function (row, idx) {
        const q = $("t-search").value.trim();
        if (q !== "" && row.r[0].indexOf(q) < 0) return false;
        const f = $("t-filler").value.trim();
        if (f !== "" && !row.r[idx.top_fillers].some(function (x) { return x.indexOf(f) >= 0; }) &&
            row.r[idx.example].indexOf(f) < 0) return false;
        const minCount = num("t-min-count");
        if (minCount !== null && row.r[idx.count] < minCount) return false;
        const minFixed = num("t-min-fixed");
        if (minFixed !== null && row.r[idx.fixed] < minFixed) return false;
        return true;
      }
    });
  }
  document.body.dataset.ready = "1";
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ciyu {version}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<div class="facts">{facts}</div>
</header>
<main>
{intro}
<h2>Charts</h2>
<div class="charts">{charts}</div>
{sample}
<h2>Words</h2>
<p class="note">{words_note}</p>
<div class="controls">
<label>word contains<input id="search" type="search" placeholder="e.g. 法"></label>
<label>min length<input id="min-length" type="number" min="1"></label>
<label>max length<input id="max-length" type="number" min="1"></label>
<label>min count<input id="min-count" type="number" min="0"></label>
<label>min cohesion (nats)<input id="min-cohesion" type="number" step="0.5"></label>
<label>in reference<select id="in-reference"{reference_disabled}>
{reference_options}
</select></label>
</div>
<div id="matching"></div>
<table id="words">
<thead><tr>{headers}</tr></thead>
<tbody id="words-body"></tbody>
</table>
<button id="more" type="button" hidden>show more</button>
{templates}
</main>
<footer>{footer}</footer>
<script type="application/json" id="ciyu-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

TEMPLATES_SECTION = """
<h2 id="templates-title">Templates</h2>
<p class="note">{note}</p>
<div class="controls">
<label>template contains<input id="t-search" type="search" placeholder="e.g. 在"></label>
<label>filler or example contains<input id="t-filler" type="search"></label>
<label>min count<input id="t-min-count" type="number" min="0"></label>
<label>min fixed words<input id="t-min-fixed" type="number" min="1"></label>
</div>
<div id="t-matching"></div>
<table id="templates">
<thead><tr>{headers}</tr></thead>
<tbody id="templates-body"></tbody>
</table>
<button id="t-more" type="button" hidden>show more</button>
"""
