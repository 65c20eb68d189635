// A 3x5 pixel font for the labels of report/mistakes.png ("7>2 93%"), written by hand: the picture is
// encoded with pngjs, which draws no text, and a font library (a TrueType rasteriser, canvas) would be a
// large dependency for a dozen glyphs of 15 pixels each. Only what the labels use is here.

/** Glyph width and height, in font pixels. */
export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

// Each glyph: 5 rows of 3 columns, '#' on.
const GLYPHS: Record<string, readonly string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['.#.', '##.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '.##', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '.#.', '.#.', '.#.'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
  '>': ['#..', '.#.', '..#', '.#.', '#..'],
  '%': ['#.#', '..#', '.#.', '#..', '#.#'],
  ' ': ['...', '...', '...', '...', '...'],
  N: ['##.', '#.#', '#.#', '#.#', '#.#'],
  O: ['.#.', '#.#', '#.#', '#.#', '.#.'],
  E: ['###', '#..', '##.', '#..', '###'],
};

/** The characters {@link drawText} knows. */
export const FONT_CHARACTERS = Object.keys(GLYPHS).join('');

/** Width in image pixels of `text` drawn at `scale`: glyphs one font pixel apart. */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/**
 * Draws `text` into a row-major 8-bit image of width `width`, its top-left corner at (`left`, `top`),
 * each font pixel a `scale` x `scale` square of value `value`. Pixels outside the image are skipped.
 * @throws RangeError for a character the font lacks.
 */
export function drawText(
  pixels: Uint8Array,
  width: number,
  text: string,
  left: number,
  top: number,
  scale: number,
  value = 255,
): void {
  const height = Math.floor(pixels.length / width);
  for (let c = 0; c < text.length; c++) {
    const glyph = GLYPHS[text[c]!];
    if (!glyph)
      throw new RangeError(`drawText: no glyph for ${JSON.stringify(text[c])}; it has ${FONT_CHARACTERS}.`);
    const x0 = left + c * (GLYPH_WIDTH + 1) * scale;
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (glyph[gy]![gx] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          const y = top + gy * scale + dy;
          if (y < 0 || y >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const x = x0 + gx * scale + dx;
            if (x >= 0 && x < width) pixels[y * width + x] = value;
          }
        }
      }
    }
  }
}
