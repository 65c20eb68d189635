/** The per-epoch numbers a run records in metrics.json and draws in its report. */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  testAccuracy: number;
  learningRate: number;
  imagesPerSecond: number;
  epochSeconds: number;
  /** Seconds since the run started (training and evaluation, not data loading). */
  elapsedSeconds: number;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

interface Series {
  label: string;
  color: string;
  values: number[];
}

/** One line chart: epochs on x, the series on a shared y range. */
function lineChart(
  x0: number,
  title: string,
  epochs: number[],
  series: Series[],
  format: (v: number) => string,
): string {
  const w = 360;
  const h = 240;
  const pad = { left: 56, right: 12, top: 28, bottom: 36 };
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const first = epochs[0] ?? 1;
  const last = epochs[epochs.length - 1] ?? 1;
  const sx = (e: number) =>
    x0 + pad.left + ((e - first) / Math.max(1, last - first)) * (w - pad.left - pad.right);
  const sy = (v: number) => pad.top + (1 - (v - lo) / (hi - lo)) * (h - pad.top - pad.bottom);
  const parts = [
    `<text x="${x0 + w / 2}" y="16" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${x0 + pad.left}" y="${pad.top}" width="${w - pad.left - pad.right}" height="${h - pad.top - pad.bottom}" fill="none" stroke="#999"/>`,
  ];
  for (const v of [lo, (lo + hi) / 2, hi]) {
    parts.push(
      `<text x="${x0 + pad.left - 4}" y="${sy(v) + 4}" text-anchor="end" ${FONT}>${format(v)}</text>`,
    );
  }
  for (const e of epochs) {
    parts.push(`<text x="${sx(e)}" y="${h - pad.bottom + 14}" text-anchor="middle" ${FONT}>${e}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${h - 6}" text-anchor="middle" ${FONT}>epoch</text>`);
  series.forEach((s, i) => {
    const points = s.values.map((v, j) => `${sx(epochs[j]!).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of points.split(' ')) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`);
    }
    parts.push(
      `<text x="${x0 + w - pad.right - 4}" y="${pad.top + 16 + 16 * i}" text-anchor="end" fill="${s.color}" ${FONT}>${escapeXml(s.label)}</text>`,
    );
  });
  return parts.join('\n');
}

/** Loss (train and test) and test accuracy per epoch, side by side. */
export function curvesSvg(history: EpochMetrics[]): string {
  const epochs = history.map((m) => m.epoch);
  const loss = lineChart(
    0,
    'Loss',
    epochs,
    [
      { label: 'train', color: '#1f77b4', values: history.map((m) => m.trainLoss) },
      { label: 'test', color: '#d62728', values: history.map((m) => m.testLoss) },
    ],
    (v) => v.toFixed(3),
  );
  const accuracy = lineChart(
    360,
    'Test accuracy',
    epochs,
    [{ label: 'test', color: '#2ca02c', values: history.map((m) => m.testAccuracy * 100) }],
    (v) => `${v.toFixed(2)}%`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="240" viewBox="0 0 720 240">\n<rect width="720" height="240" fill="white"/>\n${loss}\n${accuracy}\n</svg>\n`;
}

/** The 10x10 confusion matrix as a heat map, counts in the cells; rows are true labels. */
export function confusionSvg(confusion: number[][], title = 'Confusion matrix (test set)'): string {
  const cell = 36;
  const left = 48;
  const top = 48;
  const size = left + 10 * cell + 12;
  const max = Math.max(1, ...confusion.flatMap((row, i) => row.filter((_, j) => j !== i)));
  const parts = [
    `<rect width="${size}" height="${size + 24}" fill="white"/>`,
    `<text x="${size / 2}" y="16" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left + 5 * cell}" y="36" text-anchor="middle" ${FONT}>predicted</text>`,
    `<text x="14" y="${top + 5 * cell}" text-anchor="middle" ${FONT} transform="rotate(-90 14 ${top + 5 * cell})">true</text>`,
  ];
  for (let i = 0; i < 10; i++) {
    parts.push(
      `<text x="${left + i * cell + cell / 2}" y="${top - 4}" text-anchor="middle" ${FONT}>${i}</text>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" ${FONT}>${i}</text>`,
    );
    for (let j = 0; j < 10; j++) {
      const n = confusion[i]?.[j] ?? 0;
      // The diagonal is green; errors are red, darker for more, scaled to the largest error.
      const fill =
        i === j ? '#d8f0d8' : n === 0 ? '#ffffff' : `rgba(214,39,40,${(0.15 + 0.85 * (n / max)).toFixed(2)})`;
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"/>`,
        `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" ${FONT}>${n}</text>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 24}" viewBox="0 0 ${size} ${size + 24}">\n${parts.join('\n')}\n</svg>\n`;
}

/** The confusion matrix as aligned text, for the terminal. */
export function formatConfusion(confusion: number[][]): string {
  const width = Math.max(4, ...confusion.flat().map((n) => String(n).length + 1));
  const header = `true\\pred${Array.from({ length: 10 }, (_, j) => String(j).padStart(width)).join('')}`;
  const rows = confusion.map(
    (row, i) => `${String(i).padStart(9)}${row.map((n) => String(n).padStart(width)).join('')}`,
  );
  return [header, ...rows].join('\n');
}
