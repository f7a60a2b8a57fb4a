import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** The relay could not listen (its port is taken, or not allowed): one line for the user. */
export class InspectorRelayError extends Error {
  override readonly name = 'InspectorRelayError';
}

export interface InspectorRelay {
  /** Where the worker sends inspection events (CLAUDE_MEM_INSPECT). */
  readonly wsUrl: string;
  /** The page to open in a browser: it embeds the Stately inspector and feeds it the events. */
  readonly pageUrl: string;
  stop(): Promise<void>;
}

/** Events kept for a browser that connects after the worker started sending. */
const REPLAY_BUFFER = 500;

/** The bridge page: the Stately inspector UI in a frame, fed from this relay's websocket. */
function bridgePage(wsUrl: string, inspectorUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>session-lifecycle inspector</title>
<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100%}</style></head>
<body>
<iframe id="stately" src="${inspectorUrl}"></iframe>
<script>
  const frame = document.getElementById('stately');
  const pending = [];
  let connected = false;
  addEventListener('message', (message) => {
    if (message.data && message.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of pending.splice(0)) frame.contentWindow.postMessage(event, '*');
    }
  });
  const socket = new WebSocket(${JSON.stringify(wsUrl)});
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (connected) frame.contentWindow.postMessage(event, '*');
    else pending.push(event);
  };
</script>
</body>
</html>`;
}

/**
 * A websocket relay for @statelyai/inspect, on loopback only: the worker connects and sends, browsers
 * connect and receive. (`createInspectorServer` from @statelyai/inspect/server listens on every
 * interface and tries to open a browser; a worker's sessions should not be visible from the network.)
 */
export function startInspectorRelay(options: { port?: number; inspectorUrl?: string } = {}): Promise<InspectorRelay> {
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const buffer: string[] = [];
  let wsUrl = '';
  const http: Server = createServer((request, response) => {
    if (request.url !== '/' && request.url !== '/index.html') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(bridgePage(wsUrl, inspectorUrl));
  });
  const requestedPort = options.port ?? 7777;
  return new Promise((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${requestedPort} on 127.0.0.1 is in use (another relay?): pass --port with a free one`
          : error.code === 'EACCES'
            ? `port ${requestedPort} on 127.0.0.1 may not be used by this user: pass --port above 1023`
            : `cannot listen on 127.0.0.1:${requestedPort}: ${error.message}`;
      reject(new InspectorRelayError(why));
    });
    http.listen(requestedPort, '127.0.0.1', () => {
      // Made once the port is ours: a websocket server on a server that failed to listen re-emits
      // that failure as an 'error' event of its own, which nothing would handle.
      const sockets = new WebSocketServer({ server: http });
      sockets.on('connection', (socket) => {
        for (const message of buffer) socket.send(message);
        socket.on('message', (data) => {
          const message = data.toString();
          buffer.push(message);
          if (buffer.length > REPLAY_BUFFER) buffer.shift();
          for (const client of sockets.clients) if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
        });
      });
      const { port } = http.address() as AddressInfo;
      wsUrl = `ws://127.0.0.1:${port}`;
      resolve({
        wsUrl,
        pageUrl: `http://127.0.0.1:${port}/`,
        stop: () =>
          new Promise<void>((done) => {
            for (const client of sockets.clients) client.terminate();
            sockets.close();
            http.close(() => done());
          }),
      });
    });
  });
}
