/**
 * The drawing pad: pointer events (mouse, touch and pen alike), strokes kept as point lists so that undo can
 * redraw the rest, and keyboard shortcuts. Ink is opaque on a transparent canvas, so its alpha is the digit.
 */
type Point = readonly [number, number];

export class DrawPad {
  private readonly context: CanvasRenderingContext2D;
  private readonly strokes: Point[][] = [];
  private active: { pointerId: number; points: Point[] } | null = null;
  /** Counts every change, so a consumer can tell which drawing a result belongs to. */
  version = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('This browser cannot draw on a canvas (no 2D context).');
    this.context = context;
    canvas.addEventListener('pointerdown', (e) => this.start(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.end(e));
    canvas.addEventListener('pointercancel', (e) => this.end(e));
    canvas.addEventListener('keydown', (e) => this.key(e));
  }

  /** True when nothing is drawn. */
  get isEmpty(): boolean {
    return this.strokes.length === 0 && this.active === null;
  }

  /** The pixels, for preprocessing. */
  imageData(): ImageData {
    return this.context.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  undo(): void {
    if (this.strokes.pop() === undefined) return;
    this.redraw();
    this.changed();
  }

  clear(): void {
    if (this.isEmpty) return;
    this.strokes.length = 0;
    this.active = null;
    this.redraw();
    this.changed();
  }

  private start(event: PointerEvent): void {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    this.canvas.focus({ preventScroll: true });
    this.active = { pointerId: event.pointerId, points: [this.toCanvas(event)] };
    this.drawStroke(this.active.points);
    this.changed();
  }

  private move(event: PointerEvent): void {
    if (this.active?.pointerId !== event.pointerId) return;
    event.preventDefault();
    // Coalesced events keep fast strokes smooth where the browser batches pointer moves per frame.
    const events = event.getCoalescedEvents?.() ?? [];
    for (const e of events.length > 0 ? events : [event]) {
      const from = this.active.points[this.active.points.length - 1]!;
      const to = this.toCanvas(e);
      this.active.points.push(to);
      this.drawSegment(from, to);
    }
    this.changed();
  }

  private end(event: PointerEvent): void {
    if (this.active?.pointerId !== event.pointerId) return;
    this.strokes.push(this.active.points);
    this.active = null;
    this.changed();
  }

  private key(event: KeyboardEvent): void {
    if (event.key === 'Escape') this.clear();
    else if (event.key === 'Backspace' || ((event.ctrlKey || event.metaKey) && event.key === 'z'))
      this.undo();
    else return;
    event.preventDefault();
  }

  private toCanvas(event: PointerEvent): Point {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) / rect.width) * this.canvas.width,
      ((event.clientY - rect.top) / rect.height) * this.canvas.height,
    ];
  }

  private style(): void {
    const c = this.context;
    // About MNIST's stroke: 2-3 px of a 20 px digit box.
    c.lineWidth = this.canvas.width / 13;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.strokeStyle = '#ffffff';
    c.fillStyle = '#ffffff';
  }

  private drawStroke(points: readonly Point[]): void {
    this.style();
    const [x, y] = points[0]!;
    this.context.beginPath();
    this.context.arc(x, y, this.context.lineWidth / 2, 0, 2 * Math.PI);
    this.context.fill();
    for (let i = 1; i < points.length; i++) this.drawSegment(points[i - 1]!, points[i]!);
  }

  private drawSegment(from: Point, to: Point): void {
    this.style();
    this.context.beginPath();
    this.context.moveTo(from[0], from[1]);
    this.context.lineTo(to[0], to[1]);
    this.context.stroke();
  }

  private redraw(): void {
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const stroke of this.strokes) this.drawStroke(stroke);
  }

  private changed(): void {
    this.version++;
    this.onChange();
  }
}
