import { grayPicture } from '@lenet/web';
import { drawPicture, pictureCanvas } from './render';
import type { EvaluationView, MistakeView } from './training/protocol';

/**
 * "Where it goes wrong": the confusion matrix of the model in use as a heat map, and the test digits it misreads,
 * worst first, each a button that loads the digit into the layer views.
 */
export class MistakesView {
  private readonly summary: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly gallery: HTMLElement;

  constructor(
    container: HTMLElement,
    private readonly onPick: (mistake: MistakeView) => void,
  ) {
    this.summary = container.querySelector('#mistakes-summary')!;
    this.table = container.querySelector('#confusion')!;
    this.gallery = container.querySelector('#mistakes')!;
  }

  /** Shows an evaluation of the model called `modelName`, or a hint of how to get one. */
  show(evaluation: EvaluationView | null, modelName: string, hint: string): void {
    this.gallery.replaceChildren();
    this.table.replaceChildren();
    if (!evaluation) {
      this.summary.textContent = hint;
      this.summary.dataset['model'] = '';
      return;
    }
    const shown = evaluation.mistakes.length;
    this.summary.textContent =
      `${modelName}: ${(100 * evaluation.accuracy).toFixed(2)}% of the 10,000 test digits read right, ` +
      `${evaluation.wrong} wrong` +
      (shown < evaluation.wrong
        ? `; the ${shown} it is most sure of wrongly are below.`
        : '; all are below.');
    this.summary.dataset['model'] = modelName;
    this.summary.dataset['wrong'] = String(evaluation.wrong);
    this.drawConfusion(evaluation.confusion);
    for (const mistake of evaluation.mistakes) this.gallery.append(this.tile(mistake));
  }

  private drawConfusion(confusion: number[][]): void {
    const head = document.createElement('tr');
    head.append(cell('th', 'true \\ read'));
    for (let p = 0; p < 10; p++) head.append(cell('th', String(p)));
    this.table.append(head);
    // Off the diagonal the counts are small: a log scale keeps a handful of confusions visible.
    const offDiagonalMax = Math.max(1, ...confusion.flatMap((row, t) => row.filter((_, p) => p !== t)));
    for (const [t, row] of confusion.entries()) {
      const tr = document.createElement('tr');
      tr.append(cell('th', String(t)));
      for (const [p, count] of row.entries()) {
        const td = cell('td', String(count));
        const strength = p === t ? 0.35 : Math.log1p(count) / Math.log1p(offDiagonalMax);
        td.style.background =
          p === t ? 'rgba(80, 160, 90, 0.35)' : `rgba(220, 70, 40, ${strength.toFixed(3)})`;
        td.title = `${count} test digits labelled ${t} read as ${p}`;
        tr.append(td);
      }
      this.table.append(tr);
    }
  }

  private tile(mistake: MistakeView): HTMLElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'mistake';
    const percent = `${(100 * mistake.probability).toFixed(0)}%`;
    const label = `Test image ${mistake.index}, labelled ${mistake.label}, read as ${mistake.predicted} (${percent})`;
    button.setAttribute('aria-label', label);
    button.title = label;
    button.dataset['index'] = String(mistake.index);
    button.dataset['label'] = String(mistake.label);
    button.dataset['predicted'] = String(mistake.predicted);
    const canvas = pictureCanvas(label, 0);
    canvas.removeAttribute('role');
    drawPicture(canvas, grayPicture({ width: 28, height: 28, pixels: mistake.pixels }));
    const caption = document.createElement('span');
    caption.textContent = `${mistake.label}→${mistake.predicted} ${percent}`;
    button.append(canvas, caption);
    button.addEventListener('click', () => this.onPick(mistake));
    const item = document.createElement('li');
    item.append(button);
    return item;
  }
}

function cell(tag: 'td' | 'th', text: string): HTMLTableCellElement {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}
