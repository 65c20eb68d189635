/** Every name passed to {@link crashPoint}, in the order a run reaches them; the crash test walks them all. */
export const CRASH_POINTS = [
  'step',
  'checkpoint:staged',
  'checkpoint:weights',
  'checkpoint:optimizer',
  'checkpoint:state',
  'checkpoint:renamed',
  'checkpoint:latest',
  'metrics',
  'model',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

// Read once: crashPoint('step') runs every training step.
const WANTED = (() => {
  const [point, nth = '1'] = (process.env.LENET_CRASH_AT ?? '').split('@');
  return { point, nth: Number(nth) };
})();
const passes = new Map<CrashPoint, number>();

/**
 * Named moments where a test may kill this process, to prove that a crash there loses nothing:
 * `LENET_CRASH_AT=name` (or `name@N` for the N-th time, from 1) sends this process SIGKILL when it
 * reaches that moment. A real SIGKILL, as `kill -9` or the out-of-memory killer would send: no
 * handler, no cleanup. Unset (as for every user), it does nothing.
 */
export function crashPoint(name: CrashPoint): void {
  if (name !== WANTED.point) return;
  const seen = (passes.get(name) ?? 0) + 1;
  passes.set(name, seen);
  if (seen === WANTED.nth) process.kill(process.pid, 'SIGKILL');
}
