const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 140;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

/** A small SVG line chart that grows as points arrive; the y range follows the data or stays fixed. */
export class LineChart {
  private readonly points: [number, number][] = [];
  private readonly line: SVGPolylineElement;
  private readonly dots: SVGGElement;
  private readonly yLabels: [SVGTextElement, SVGTextElement];
  private readonly xLabel: SVGTextElement;

  constructor(
    container: HTMLElement,
    title: string,
    private readonly options: { yRange?: [number, number]; format: (y: number) => string; dots?: boolean },
  ) {
    const svg = element('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': title });
    svg.classList.add('chart');
    svg.append(
      element('rect', {
        x: PAD.left,
        y: PAD.top,
        width: WIDTH - PAD.left - PAD.right,
        height: HEIGHT - PAD.top - PAD.bottom,
        class: 'chart-frame',
      }),
    );
    this.line = element('polyline', { class: 'chart-line', points: '' });
    this.dots = element('g', { class: 'chart-dots' });
    this.yLabels = [
      element('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end' }),
      element('text', { x: PAD.left - 4, y: HEIGHT - PAD.bottom, 'text-anchor': 'end' }),
    ];
    this.xLabel = element('text', { x: WIDTH - PAD.right, y: HEIGHT - 4, 'text-anchor': 'end' });
    svg.append(this.line, this.dots, ...this.yLabels, this.xLabel);
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    const figure = document.createElement('figure');
    figure.append(svg, caption);
    container.append(figure);
  }

  clear(): void {
    this.points.length = 0;
    this.draw();
  }

  add(x: number, y: number, xText: string): void {
    this.points.push([x, y]);
    this.xLabel.textContent = xText;
    this.draw();
  }

  private draw(): void {
    const ys = this.points.map(([, y]) => y);
    const [low, high] = this.options.yRange ?? [Math.min(0, ...ys), Math.max(1e-9, ...ys)];
    const xMax = Math.max(1, ...this.points.map(([x]) => x));
    const sx = (x: number) => PAD.left + (x / xMax) * (WIDTH - PAD.left - PAD.right);
    const sy = (y: number) =>
      HEIGHT -
      PAD.bottom -
      ((Math.min(high, Math.max(low, y)) - low) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);
    const coords = this.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    this.line.setAttribute('points', coords.join(' '));
    if (this.options.dots) {
      this.dots.replaceChildren(
        ...this.points.map(([x, y]) => element('circle', { cx: sx(x), cy: sy(y), r: 3 })),
      );
    }
    this.yLabels[0].textContent = this.points.length ? this.options.format(high) : '';
    this.yLabels[1].textContent = this.points.length ? this.options.format(low) : '';
  }
}

function element<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}
