import { type LoadMnistFromUrlOptions, loadMnistFromUrl, type Mnist, type MnistByteCache } from '@lenet/data';

/** The Cache API cache that {@link browserMnistCache} uses by default; `caches.delete(MNIST_CACHE_NAME)` empties it. */
export const MNIST_CACHE_NAME = 'lenet-mnist-v1';

/**
 * A {@link MnistByteCache} over the browser's Cache API (windows and workers alike), for `loadMnistFromUrl`'s
 * `cache` option: each body is stored as an `application/octet-stream` Response under its URL. Where the Cache
 * API is missing (an insecure context, an old browser), `get` finds nothing and `put` / `delete` do nothing, so
 * the loader just downloads. The loader verifies every cached body, so a stale or damaged entry is refetched.
 */
export function browserMnistCache(cacheName: string = MNIST_CACHE_NAME): MnistByteCache {
  // CacheStorage is [SecureContext]: on plain http (but localhost) `caches` does not exist at all.
  const open = async (): Promise<Cache | undefined> =>
    typeof caches === 'undefined' ? undefined : caches.open(cacheName);
  return {
    async get(url) {
      const response = await (await open())?.match(url);
      return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
    },
    async put(url, bytes) {
      const response = new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { 'content-type': 'application/octet-stream' },
      });
      await (await open())?.put(url, response);
    },
    async delete(url) {
      await (await open())?.delete(url);
    },
  };
}

/** Options of {@link loadSiteMnist}: those of `loadMnistFromUrl`, with a cache by default. */
export interface LoadSiteMnistOptions extends Omit<LoadMnistFromUrlOptions, 'cache'> {
  /** Where verified files are kept between visits (default `browserMnistCache()`); `false` for none. */
  cache?: MnistByteCache | false;
}

/**
 * Loads MNIST from the four official `<name>.gz` files served by the page's own site (as the demo's
 * `prepare-assets.mjs` writes them to `public/mnist/`), verified against the official SHA-256 and kept in the
 * Cache API, so a second visit downloads nothing. The `.gz` files are fetched as bytes and inflated here, so
 * the server needs no `Content-Encoding` header (one that sends it works too).
 * @param baseUrl the folder of the files, e.g. `${import.meta.env.BASE_URL}mnist/`.
 * @throws as `loadMnistFromUrl` does: MnistDataError naming the URL, ChecksumMismatchError, IdxFormatError.
 */
export function loadSiteMnist(baseUrl: string, options: LoadSiteMnistOptions = {}): Promise<Mnist> {
  const { cache = browserMnistCache(), ...rest } = options;
  return loadMnistFromUrl(baseUrl, { ...rest, cache: cache === false ? undefined : cache });
}
