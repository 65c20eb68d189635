import { describe, expect, it } from 'vitest';
import { formatDuration } from './progress';
import { confusionSvg, curvesSvg, type EpochMetrics, formatConfusion } from './report';

const history: EpochMetrics[] = [1, 2, 3].map((epoch) => ({
  epoch,
  trainLoss: 0.5 / epoch,
  testLoss: 0.4 / epoch,
  testAccuracy: 0.9 + epoch / 100,
  learningRate: 1e-3,
  imagesPerSecond: 1000,
  epochSeconds: 60,
  elapsedSeconds: 60 * epoch,
}));

describe('training report', () => {
  it('draws one polyline per series with a point per epoch', () => {
    const svg = curvesSvg(history);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg.match(/<circle/g)).toHaveLength(9);
    expect(svg).toContain('93.00%');
  });

  it('draws and prints a 10x10 confusion matrix with its counts', () => {
    const confusion = Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: 10 }, (_, j) => (i === j ? 980 + i : i + j)),
    );
    const svg = confusionSvg(confusion);
    expect(svg.match(/<rect [^>]*stroke="#ddd"/g)).toHaveLength(100);
    expect(svg).toContain('>989<');
    const text = formatConfusion(confusion).split('\n');
    expect(text).toHaveLength(11);
    expect(text[10]!.trim().split(/\s+/).map(Number)).toEqual([9, 9, 10, 11, 12, 13, 14, 15, 16, 17, 989]);
  });

  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });
});
