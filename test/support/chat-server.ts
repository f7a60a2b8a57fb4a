import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: { model: string; messages: { role: string; content: string }[] };
  /** The client went away before an answer was sent (an aborted call). */
  aborted: boolean;
}

export type ChatBehaviour =
  | {
      readonly reply: string;
      readonly usage?: { prompt_tokens: number; completion_tokens: number };
      /** Answers after this long (a model that takes its time). */
      readonly delayMs?: number;
    }
  | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly hang: true }
  | { readonly raw: string };

/**
 * A real HTTP server on loopback that speaks the chat-completions protocol, answering each request
 * with the next scripted behaviour (the last one repeats).
 */
export async function startChatServer(script: ChatBehaviour[]) {
  const requests: ChatRequest[] = [];
  const waiting: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ChatRequest = { headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), aborted: false };
      requests.push(request);
      res.on('close', () => {
        if (!res.writableEnded) request.aborted = true;
      });
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
        res.writeHead(404).end('{"error":"not found"}');
        return;
      }
      const behaviour = script[Math.min(requests.length - 1, script.length - 1)]!;
      if ('hang' in behaviour) {
        waiting.push(res);
        return;
      }
      if ('raw' in behaviour) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.raw);
        return;
      }
      if ('status' in behaviour) {
        res
          .writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers })
          .end(behaviour.body ?? '{"error":{"message":"refused"}}');
        return;
      }
      const answer = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${requests.length}`,
            object: 'chat.completion',
            model: request.body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: behaviour.reply }, finish_reason: 'stop' }],
            ...(behaviour.usage
              ? { usage: { ...behaviour.usage, total_tokens: behaviour.usage.prompt_tokens + behaviour.usage.completion_tokens } }
              : {}),
          }),
        );
      if (behaviour.delayMs === undefined) answer();
      else {
        const timer = setTimeout(answer, behaviour.delayMs);
        res.on('close', () => clearTimeout(timer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    async close() {
      for (const res of waiting) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
