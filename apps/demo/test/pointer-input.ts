/** Real input on the demo's draw pad (mouse, touch, pen through CDP), and waiting for the page's answer. */
import type { CDPSession, Page } from 'playwright-core';

/** Waits until the page shows the result of its latest input, and returns the predicted digit. */
export async function settledDigit(page: Page): Promise<number> {
  await page.waitForFunction(
    () =>
      document.body.dataset['busy'] === 'false' &&
      document.getElementById('result')!.dataset['digit'] !== undefined,
    undefined,
    { timeout: 60_000 },
  );
  return Number(await page.getAttribute('#result', 'data-digit'));
}

export type Pointer = 'mouse' | 'touch' | 'pen';

/** Draws strokes on the pad with real input events: mouse moves, touch points, or a pen through CDP. */
export async function draw(
  page: Page,
  cdp: CDPSession,
  strokes: [number, number][][],
  pointer: Pointer,
): Promise<void> {
  // CDP input lands at viewport coordinates: the pad must be on screen (a click elsewhere may have scrolled it off).
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = (await page.locator('#pad').boundingBox())!;
  const at = ([x, y]: [number, number]) => ({ x: box.x + x * box.width, y: box.y + y * box.height });
  for (const stroke of strokes) {
    // Points every ~1/40 of the pad, like a real pointer's move events.
    const points: { x: number; y: number }[] = [];
    stroke.forEach((p, i) => {
      if (i === 0) {
        points.push(at(p));
        return;
      }
      const [px, py] = stroke[i - 1]!;
      const steps = Math.max(1, Math.ceil(Math.hypot(p[0] - px, p[1] - py) * 40));
      for (let s = 1; s <= steps; s++)
        points.push(at([px + ((p[0] - px) * s) / steps, py + ((p[1] - py) * s) / steps]));
    });
    if (pointer === 'touch') {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [points[0]!] });
      for (const p of points.slice(1))
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    } else {
      const send = (type: string, p: { x: number; y: number }) =>
        cdp.send('Input.dispatchMouseEvent', {
          type,
          ...p,
          button: 'left',
          buttons: type === 'mouseReleased' ? 0 : 1,
          clickCount: 1,
          pointerType: pointer,
        } as never);
      await send('mousePressed', points[0]!);
      for (const p of points.slice(1)) await send('mouseMoved', p);
      await send('mouseReleased', points[points.length - 1]!);
    }
  }
}
