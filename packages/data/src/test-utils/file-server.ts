import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test server answers for one path. */
export type Route =
  /** `headers` are sent besides Content-Type and Content-Length, e.g. a Content-Encoding. */
  | { kind: 'bytes'; bytes: Uint8Array; headers?: Record<string, string> }
  | { kind: 'status'; status: number }
  /** Sends headers with the full Content-Length and the first `after` bytes, then destroys the socket. */
  | { kind: 'cut'; bytes: Uint8Array; after: number }
  /** Accepts the request and never answers, like a hung server. */
  | { kind: 'silent' }
  /**
   * Sends headers (Content-Length `contentLength`, default the length of `bytes`) and the first `after`
   * bytes, then keeps the connection open without sending more, like a stalled transfer.
   */
  | { kind: 'stall'; bytes: Uint8Array; after: number; contentLength?: number }
  /** Streams zeros without a Content-Length for as long as the client reads. */
  | { kind: 'endless' };

/** A real HTTP server on 127.0.0.1 (random port) that records every request path. */
export interface FileServer {
  /** e.g. http://127.0.0.1:40123/mnist/ */
  baseUrl: string;
  requests: string[];
  close(): Promise<void>;
}

/** Starts a loopback server answering `/mnist/<name>` from `routes`; anything else is 404. */
export async function startFileServer(routes: Record<string, Route>): Promise<FileServer> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '';
    requests.push(path);
    const route = path.startsWith('/mnist/') ? routes[path.slice('/mnist/'.length)] : undefined;
    if (!route) {
      res.writeHead(404, 'Not Found').end();
    } else if (route.kind === 'status') {
      res.writeHead(route.status).end();
    } else if (route.kind === 'bytes') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': route.bytes.length,
        ...route.headers,
      });
      res.end(route.bytes);
    } else if (route.kind === 'cut') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': route.bytes.length,
      });
      res.write(route.bytes.subarray(0, route.after), () => res.socket?.destroy());
    } else if (route.kind === 'stall') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': route.contentLength ?? route.bytes.length,
      });
      res.write(route.bytes.subarray(0, route.after));
    } else if (route.kind === 'endless') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const zeros = new Uint8Array(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(zeros)) {}
      };
      res.on('drain', pump);
      pump();
    }
    // 'silent': leave the request unanswered; close() destroys the connection.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/mnist/`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
