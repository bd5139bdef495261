/** A small SVG bar chart of the benchmark summary: vCPU per 1000 rps and added p90 latency per proxy. */
interface Row {
  name: string;
  vcpuPer1k: number;
  evenP90: number;
  maxRps: number;
}

export function svgChart(rows: Row[], directP90: number): string {
  const proxies = rows.filter((r) => r.name !== 'direct');
  const panels = [
    { title: 'vCPU per 1000 rps (lower is better)', value: (r: Row) => r.vcpuPer1k, fmt: (v: number) => v.toFixed(3) },
    { title: 'added p90 latency at 1000 rps, ms (lower is better)', value: (r: Row) => r.evenP90 - directP90, fmt: (v: number) => v.toFixed(3) },
    { title: 'max requests/s, one worker (higher is better)', value: (r: Row) => r.maxRps, fmt: (v: number) => v.toFixed(0) },
  ];
  const width = 720;
  const barH = 22;
  const panelH = 40 + proxies.length * (barH + 6);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${panels.length * panelH + 10}" font-family="sans-serif" font-size="12">`];
  panels.forEach((p, i) => {
    const y0 = i * panelH + 10;
    const max = Math.max(...proxies.map((r) => Math.max(0, p.value(r))), 1e-9);
    out.push(`<text x="10" y="${y0 + 16}" font-weight="bold">${p.title}</text>`);
    proxies.forEach((r, j) => {
      const v = p.value(r);
      const y = y0 + 28 + j * (barH + 6);
      const w = Number.isFinite(v) ? Math.max(1, (Math.max(0, v) / max) * (width - 260)) : 0;
      out.push(
        `<text x="10" y="${y + 15}">${r.name}</text>`,
        `<rect x="130" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${r.name.startsWith('waypoint') ? '#2b6cb0' : '#a0aec0'}"/>`,
        `<text x="${(136 + w).toFixed(1)}" y="${y + 15}">${Number.isFinite(v) ? p.fmt(v) : '–'}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n');
}
