import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelRequest {
  /** The last user message: the prompt of the item the agent works on. */
  readonly prompt: string;
  aborted: boolean;
  answered: boolean;
}

/**
 * A chat-completions server on loopback standing in for the model provider: answers each request with
 * `reply to: <prompt>`, except prompts containing `HOLD`, which wait until `release()` (or forever).
 * Records every request, so a test can count how often the model was asked for each prompt.
 */
export async function startModelServer() {
  const requests: ModelRequest[] = [];
  const held: { request: ModelRequest; res: ServerResponse }[] = [];
  let holding = true;
  const answer = (request: ModelRequest, res: ServerResponse) => {
    if (res.destroyed) return;
    request.answered = true;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: `reply to: ${request.prompt}` }, finish_reason: 'stop' }],
      }),
    );
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { role: string; content: string }[] };
      const prompt = body.messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
      const request: ModelRequest = { prompt, aborted: false, answered: false };
      requests.push(request);
      res.on('close', () => {
        if (!res.writableEnded) request.aborted = true;
      });
      if (holding && prompt.includes('HOLD')) held.push({ request, res });
      else answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    held: () => held.filter(({ request, res }) => !request.aborted && !res.destroyed).map(({ request }) => request),
    /** Answers every held request and stops holding new ones. */
    release() {
      holding = false;
      for (const { request, res } of held.splice(0)) answer(request, res);
    },
    hold() {
      holding = true;
    },
    /** Calls whose prompt held `prompt` (alone, or within a batch of several items). */
    count: (prompt: string) => requests.filter((request) => request.prompt.includes(prompt)).length,
    async close() {
      for (const { res } of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
