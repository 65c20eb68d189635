/**
 * How far the resident set size rose above its starting point while `run` ran, sampled every few
 * milliseconds: a bound on memory, not a timing. Returns the growth in bytes and what `run` settled to.
 */
export async function rssGrowthDuring<T>(
  run: () => Promise<T>,
): Promise<{ growth: number; outcome: T | Error }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const sampler = setInterval(sample, 5);
  let outcome: T | Error;
  try {
    outcome = await run();
  } catch (error) {
    outcome = error as Error;
  } finally {
    clearInterval(sampler);
    sample();
  }
  return { growth: peak - start, outcome };
}
