/** The ten softmax probabilities as labelled bars. */
export class PredictionBars {
  private readonly rows: { item: HTMLLIElement; bar: HTMLSpanElement; value: HTMLSpanElement }[] = [];

  constructor(list: HTMLOListElement) {
    for (let digit = 0; digit < 10; digit++) {
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = String(digit);
      const track = document.createElement('span');
      track.className = 'bar';
      const bar = document.createElement('span');
      track.append(bar);
      const value = document.createElement('span');
      value.textContent = '–';
      item.append(label, track, value);
      list.append(item);
      this.rows.push({ item, bar, value });
    }
  }

  show(probabilities: Float32Array | null): void {
    const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    this.rows.forEach((row, digit) => {
      const p = probabilities?.[digit] ?? 0;
      row.bar.style.width = `${(p * 100).toFixed(1)}%`;
      row.value.textContent = probabilities ? `${(p * 100).toFixed(1)}%` : '–';
      row.item.classList.toggle('best', digit === best);
      row.item.setAttribute('aria-label', `digit ${digit}: ${(p * 100).toFixed(1)} percent`);
    });
  }
}
