/**
 * Hand-made strokes of digits on a unit square (0,0 top-left), drawn on the pad by simulated pointers in the
 * browser tests. Each digit is a list of strokes, each a polyline.
 */
type Stroke = [number, number][];

function ellipse(
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  from = 0,
  to = 2 * Math.PI,
  steps = 28,
): Stroke {
  return Array.from({ length: steps + 1 }, (_, i) => {
    const t = from + ((to - from) * i) / steps;
    return [cx + rx * Math.sin(t), cy - ry * Math.cos(t)];
  });
}

export const DIGIT_STROKES: Record<number, Stroke[]> = {
  0: [ellipse(0.5, 0.5, 0.2, 0.32)],
  1: [
    [
      [0.45, 0.2],
      [0.55, 0.15],
      [0.55, 0.85],
    ],
  ],
  2: [
    [
      [0.3, 0.3],
      [0.38, 0.19],
      [0.52, 0.15],
      [0.66, 0.2],
      [0.7, 0.32],
      [0.64, 0.46],
      [0.3, 0.82],
      [0.75, 0.82],
    ],
  ],
  3: [
    [
      [0.3, 0.2],
      [0.5, 0.14],
      [0.66, 0.2],
      [0.68, 0.33],
      [0.55, 0.45],
      [0.44, 0.47],
      [0.58, 0.5],
      [0.7, 0.62],
      [0.66, 0.78],
      [0.5, 0.85],
      [0.3, 0.8],
    ],
  ],
  4: [
    [
      [0.36, 0.15],
      [0.3, 0.58],
      [0.74, 0.58],
    ],
    [
      [0.62, 0.18],
      [0.62, 0.88],
    ],
  ],
  5: [
    [
      [0.7, 0.17],
      [0.36, 0.17],
      [0.33, 0.46],
      [0.52, 0.41],
      [0.67, 0.5],
      [0.7, 0.67],
      [0.6, 0.81],
      [0.45, 0.85],
      [0.3, 0.78],
    ],
  ],
  6: [
    [
      [0.62, 0.14],
      [0.46, 0.3],
      [0.35, 0.52],
      [0.34, 0.72],
      [0.45, 0.85],
      [0.6, 0.83],
      [0.67, 0.68],
      [0.58, 0.55],
      [0.44, 0.55],
      [0.35, 0.66],
    ],
  ],
  7: [
    [
      [0.28, 0.2],
      [0.72, 0.2],
      [0.58, 0.45],
      [0.45, 0.86],
    ],
  ],
  9: [[...ellipse(0.5, 0.33, 0.16, 0.17, 0.5 * Math.PI, 2.5 * Math.PI), [0.64, 0.55], [0.6, 0.88]]],
};
