import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test server answers for one path. */
export type Route =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'status'; status: number }
  /** Sends headers with the full Content-Length and the first `after` bytes, then destroys the socket. */
  | { kind: 'cut'; bytes: Uint8Array; after: number };

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
      });
      res.end(route.bytes);
    } else {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': route.bytes.length,
      });
      res.write(route.bytes.subarray(0, route.after), () => res.socket?.destroy());
    }
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
