import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of a Restate ingress that loses answers: a request whose path matches `lose`
 * is forwarded and fully handled by Restate, but its caller's connection is cut instead of answered
 * (the first `times` such requests). What a caller sees when a node dies after committing, or a network
 * drops the answer: it cannot tell whether the call was applied, and retries.
 */
export async function startLossyProxy(target: string, lose: RegExp, times = 1) {
  const upstream = new URL(target);
  let toLose = times;
  const forwarded: string[] = [];
  const lost: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    forwarded.push(path);
    const drop = lose.test(path) && toLose > 0;
    if (drop) toLose--;
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          if (drop) {
            lost.push(path);
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Paths forwarded, in order, and those whose answer was lost. */
    forwarded,
    lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
