// The outage timeline as a hand-written SVG: share of clients connected (top) and server-side
// handshakes per 100 ms (bottom), per library, from 1 s before the kill; time 0 is the kill.

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export function renderOutageSvg(outage) {
  const series = Object.entries(outage.libs).filter(([, v]) => v.chart);
  const W = 900;
  const H = 520;
  const L = 60;
  const R = 200;
  const plotW = W - L - R;
  const top = { y: 40, h: 250 };
  const bot = { y: 340, h: 130 };
  const clients = outage.plan?.clients ?? 1;
  const spanMs = Math.max(...series.map(([, v]) => v.chart.connected.length * v.chart.bucketMs), 1000);
  const x = (ms) => L + (ms / spanMs) * plotW;
  const maxHs = Math.max(10, ...series.flatMap(([, v]) => v.chart.handshakes));
  const yTop = (pct) => top.y + top.h - (pct / 100) * top.h;
  const yBot = (n) => bot.y + bot.h - (n / maxHs) * bot.h;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">Outage: clients connected and handshakes per 100 ms (${clients} clients per library, ${outage.runs > 1 ? 'first run' : 'one run'})</text>`);
  // axes and grid
  for (const pct of [0, 25, 50, 75, 100]) {
    parts.push(`<line x1="${L}" x2="${L + plotW}" y1="${yTop(pct)}" y2="${yTop(pct)}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 6}" y="${yTop(pct) + 4}" text-anchor="end">${pct} %</text>`);
  }
  for (const n of [0, Math.round(maxHs / 2), maxHs]) {
    parts.push(`<line x1="${L}" x2="${L + plotW}" y1="${yBot(n)}" y2="${yBot(n)}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 6}" y="${yBot(n) + 4}" text-anchor="end">${n}</text>`);
  }
  parts.push(`<text x="14" y="${top.y + top.h / 2}" transform="rotate(-90 14 ${top.y + top.h / 2})" text-anchor="middle">connected</text>`);
  parts.push(`<text x="14" y="${bot.y + bot.h / 2}" transform="rotate(-90 14 ${bot.y + bot.h / 2})" text-anchor="middle">handshakes / 100 ms</text>`);
  for (let s = 0; s * 1000 <= spanMs; s++) {
    const xs = x(s * 1000);
    parts.push(`<line x1="${xs}" x2="${xs}" y1="${bot.y + bot.h}" y2="${bot.y + bot.h + 4}" stroke="#333"/>`);
    if (s % 2 === 0) parts.push(`<text x="${xs}" y="${bot.y + bot.h + 18}" text-anchor="middle">${s - 1} s</text>`);
  }
  parts.push(`<text x="${L + plotW / 2}" y="${H - 8}" text-anchor="middle">time since the kill</text>`);
  // kill and restart markers (time 0 = 1 s into the chart)
  const kill = x(1000);
  parts.push(`<line x1="${kill}" x2="${kill}" y1="${top.y}" y2="${bot.y + bot.h}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${kill + 4}" y="${top.y + 12}">kill</text>`);
  const restarts = series.map(([, v]) => v.chart.tRestart - v.chart.tKill);
  const restart = restarts.reduce((a, b) => a + b, 0) / Math.max(1, restarts.length);
  const xr = x(1000 + restart);
  parts.push(`<line x1="${xr}" x2="${xr}" y1="${top.y}" y2="${bot.y + bot.h}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${xr + 4}" y="${top.y + 12}">restart (+${(restart / 1000).toFixed(2)} s)</text>`);
  // series: step lines
  series.forEach(([name, v], i) => {
    const c = COLORS[i % COLORS.length];
    const { bucketMs, connected, handshakes } = v.chart;
    const step = (vals, y) => {
      let d = `M${x(0).toFixed(1)},${y(vals[0] ?? 0).toFixed(1)}`;
      vals.forEach((val, b) => {
        d += ` H${x(b * bucketMs).toFixed(1)} V${y(val).toFixed(1)}`;
      });
      return d + ` H${x(vals.length * bucketMs).toFixed(1)}`;
    };
    parts.push(`<path d="${step(connected.map((n) => (n / clients) * 100), yTop)}" fill="none" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<path d="${step(handshakes, yBot)}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    const ly = top.y + 20 + i * 22;
    parts.push(`<line x1="${L + plotW + 16}" x2="${L + plotW + 40}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="3"/>`);
    parts.push(`<text x="${L + plotW + 46}" y="${ly + 4}">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
