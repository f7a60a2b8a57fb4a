/**
 * A fake LLM for the bursty benchmark: an OpenAI-compatible `/v1/chat/completions` server on loopback
 * that takes `latencyMs` per call, whatever it is asked, and charges by the prompt: it counts the
 * prompt's tokens (characters / 4, as the project estimates them) and reports them as `usage`. Every
 * observation the benchmark sends carries a marker (`obs:…;`); the server answers one `<observation>`
 * per marker in the last user message, and records when each marker's answer went out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeLlmCall {
  /** When the answer was sent (performance.now() of this process). */
  readonly answeredAt: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly messages: number;
  /** Observation markers in the last user message: what this call answered. */
  readonly markers: readonly string[];
}

export interface FakeLlm {
  readonly baseUrl: string;
  readonly calls: FakeLlmCall[];
  /** When each marker was answered (the first time). */
  readonly answered: Map<string, number>;
  close(): Promise<void>;
}

const MARKER = /obs:[\w-]+;/g;
const tokensOf = (text: string) => Math.ceil(text.length / 4);

export async function startFakeLlm(latencyMs: number): Promise<FakeLlm> {
  const calls: FakeLlmCall[] = [];
  const answered = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{"error":"not found"}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { role: string; content: string }[] };
      let promptTokens = 0;
      for (const message of body.messages) promptTokens += tokensOf(message.content) + 4; // a few tokens of framing per message
      const lastUser = [...body.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
      const markers = [...new Set(lastUser.match(MARKER) ?? [])];
      const reply =
        markers.length === 0
          ? '<ack>noted</ack>'
          : markers
              .map(
                (marker) =>
                  `<observation><type>discovery</type><title>${marker}</title><facts>read the file it names</facts></observation>`,
              )
              .join('\n');
      const timer = setTimeout(() => {
        const answeredAt = performance.now();
        const completionTokens = tokensOf(reply);
        calls.push({ answeredAt, promptTokens, completionTokens, messages: body.messages.length, markers });
        for (const marker of markers) if (!answered.has(marker)) answered.set(marker, answeredAt);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${calls.length}`,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
            usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
          }),
        );
      }, latencyMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    answered,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
