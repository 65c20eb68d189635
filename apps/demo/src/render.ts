import type { Picture } from '@lenet/web';

/** An empty canvas for pictures shown `displayScale` times their size with crisp pixels, labelled for screen readers. */
export function pictureCanvas(label: string, displayScale: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = 1;
  canvas.height = 1;
  canvas.dataset['scale'] = String(displayScale);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  canvas.title = label;
  return canvas;
}

/** Draws a picture at the canvas' own resolution and sizes the canvas on screen by its display scale. */
export function drawPicture(canvas: HTMLCanvasElement, picture: Picture): void {
  if (canvas.width !== picture.width || canvas.height !== picture.height) {
    canvas.width = picture.width;
    canvas.height = picture.height;
  }
  const scale = Number(canvas.dataset['scale'] ?? 0);
  if (scale > 0) {
    canvas.style.width = `${Math.round(picture.width * scale)}px`;
    canvas.style.height = `${Math.round(picture.height * scale)}px`;
  }
  canvas.getContext('2d')!.putImageData(new ImageData(picture.data, picture.width, picture.height), 0, 0);
}

/** A captioned figure around a canvas. */
export function figure(canvas: HTMLCanvasElement, caption: string): HTMLElement {
  const element = document.createElement('figure');
  const text = document.createElement('figcaption');
  text.textContent = caption;
  element.append(canvas, text);
  return element;
}
