import { grayPicture } from '@lenet/web';
import { drawPicture, pictureCanvas } from './render';

/** One real MNIST test digit, as written by scripts/prepare-assets.mjs. */
export interface Sample {
  /** Position in the 10,000-image test set. */
  index: number;
  label: number;
  /** 28x28 bytes, white digit on black. */
  pixels: Uint8Array;
}

/** Loads the sample digits that the build put next to the page. */
export async function loadSamples(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load the sample digits from ${url}: HTTP ${response.status}.`);
  const json = (await response.json()) as { samples: { index: number; label: number; pixels: string }[] };
  return json.samples.map((s) => ({
    index: s.index,
    label: s.label,
    pixels: Uint8Array.from(atob(s.pixels), (c) => c.charCodeAt(0)),
  }));
}

/** The strip of clickable sample digits; `onPick` gets the sample chosen. */
export function sampleStrip(
  container: HTMLElement,
  samples: Sample[],
  onPick: (sample: Sample) => void,
): {
  select(sample: Sample | null): void;
} {
  const buttons = samples.map((sample) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sample';
    button.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-label', `MNIST test image ${sample.index}, labelled ${sample.label}`);
    button.dataset['index'] = String(sample.index);
    const canvas = pictureCanvas(`MNIST test image ${sample.index}`, 0);
    canvas.removeAttribute('role');
    drawPicture(canvas, grayPicture({ width: 28, height: 28, pixels: sample.pixels }));
    button.append(canvas);
    button.addEventListener('click', () => onPick(sample));
    const item = document.createElement('li');
    item.append(button);
    container.append(item);
    return button;
  });
  return {
    select(sample) {
      for (const [i, b] of buttons.entries()) b.setAttribute('aria-pressed', String(samples[i] === sample));
    },
  };
}
