/**
 * A fake Gemini API on loopback speaking its wire protocol: `POST /v1beta/models/{model}:generateContent`
 * (the key in `x-goog-api-key`), answered with candidates and usageMetadata; refusals in Google's error
 * shape (`{error:{code, message, status, details}}`, a RetryInfo `retryDelay` on 429).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GeminiRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    contents: { role: string; parts: { text: string }[] }[];
    systemInstruction?: { parts: { text: string }[] };
    [key: string]: unknown;
  };
  aborted: boolean;
}

export type GeminiResponse =
  | { readonly text: string; readonly usage?: { promptTokenCount: number; candidatesTokenCount: number; cachedContentTokenCount?: number } }
  | { readonly status: number; readonly message: string; readonly googleStatus?: string; readonly retryDelay?: string }
  | { readonly stall: true };

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export async function startFakeGemini(respond: (request: GeminiRequest, index: number) => GeminiResponse) {
  const requests: GeminiRequest[] = [];
  const stalled = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const model = /^\/v1beta\/models\/([^:/]+):generateContent/.exec(path)?.[1];
      if (req.method !== 'POST' || model === undefined) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 404, message: `no route ${path}`, status: 'NOT_FOUND' } }));
        return;
      }
      const request: GeminiRequest = {
        path,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        aborted: false,
      };
      const index = requests.length;
      requests.push(request);
      res.on('close', () => {
        stalled.delete(res);
        if (!res.writableFinished) request.aborted = true;
      });
      const response = respond(request, index);
      if ('stall' in response) {
        stalled.add(res);
        return;
      }
      if ('status' in response) {
        const details =
          response.retryDelay === undefined
            ? []
            : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: response.retryDelay }];
        res.writeHead(response.status, { 'content-type': 'application/json; charset=UTF-8' }).end(
          JSON.stringify({
            error: {
              code: response.status,
              message: response.message,
              status: response.googleStatus ?? STATUS_NAMES[response.status] ?? 'UNKNOWN',
              details,
            },
          }),
        );
        return;
      }
      const usage = response.usage ?? { promptTokenCount: 10, candidatesTokenCount: 5 };
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(
        JSON.stringify({
          candidates: [{ content: { parts: [{ text: response.text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { ...usage, totalTokenCount: usage.promptTokenCount + usage.candidatesTokenCount },
          modelVersion: model,
          responseId: `resp-${index}`,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
