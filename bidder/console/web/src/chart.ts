// Bar charts as SVG elements (attributes only: the Content-Security-Policy forbids inline
// styles). One series per colour class; the numbers are also in the table beside each chart.
const svgNs = "http://www.w3.org/2000/svg";

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Series {
  name: string;
  values: number[];
}

/** Grouped bars: one group per label, one bar per series. */
export function barChart(title: string, labels: string[], series: Series[]): SVGSVGElement {
  const width = 640, height = 220, left = 56, bottom = 36, top = 24;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" }) as SVGSVGElement;
  svg.setAttribute("aria-label", title);
  svg.append(el("title", {}, title));
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite)));
  const plotH = height - bottom - top;
  const groupW = (width - left) / Math.max(1, labels.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  svg.append(el("text", { x: 0, y: 14, class: "chart-title" }, title));
  for (const frac of max > 0 ? [0, 0.5, 1] : [0]) {
    const y = top + plotH * (1 - frac);
    svg.append(el("line", { x1: left, x2: width, y1: y, y2: y, class: "grid-line" }));
    svg.append(el("text", { x: left - 4, y: y + 4, "text-anchor": "end", class: "axis" }, fmt(max * frac)));
  }
  labels.forEach((label, i) => {
    const x0 = left + i * groupW + groupW * 0.1;
    series.forEach((s, j) => {
      const v = Number.isFinite(s.values[i]) ? s.values[i] : 0;
      const hgt = max > 0 ? (v / max) * plotH : 0;
      const bar = el("rect", { x: x0 + j * barW, y: top + plotH - hgt, width: barW - 1, height: hgt, class: `bar s${j % 6}` });
      bar.append(el("title", {}, `${s.name} ${label}: ${fmt(v)}`));
      svg.append(bar);
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      svg.append(el("text", { x: x0 + (groupW * 0.8) / 2, y: height - bottom + 14, "text-anchor": "middle", class: "axis" }, label));
    }
  });
  series.forEach((s, j) => {
    const x = left + j * 140;
    svg.append(el("rect", { x, y: height - 14, width: 10, height: 10, class: `bar s${j % 6}` }));
    svg.append(el("text", { x: x + 14, y: height - 5, class: "axis" }, s.name));
  });
  return svg;
}

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v % 1 === 0 ? String(v) : v.toFixed(2);
}
