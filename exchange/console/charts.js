// Small inline SVG charts: horizontal bars, no library, nothing fetched from elsewhere.
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// rows: [{label, values: [number, ...]}]; series: [{name, colour}]
export function bars(title, rows, series) {
  const barH = 14, gap = 8, left = 140, width = 560;
  const height = rows.length * (series.length * barH + gap) + 30;
  const max = Math.max(1, ...rows.flatMap((r) => r.values.map((v) => v || 0)));
  const svg = el("svg", { class: "chart", width: left + width + 60, height, role: "img",
    "aria-label": title, viewBox: `0 0 ${left + width + 60} ${height}` });
  svg.append(el("title", {}, title));
  let y = 4;
  for (const r of rows) {
    svg.append(el("text", { x: 0, y: y + barH, "dominant-baseline": "middle" }, r.label));
    r.values.forEach((v, i) => {
      const w = Math.round(((v || 0) / max) * width);
      svg.append(el("rect", { x: left, y, width: w, height: barH - 2, fill: series[i].colour },
      ));
      svg.append(el("text", { x: left + w + 4, y: y + barH / 2 + 3 }, `${series[i].name} ${v ?? "–"}`));
      y += barH;
    });
    y += gap;
  }
  return svg;
}
