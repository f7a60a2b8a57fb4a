/**
 * seed-fix behind claude-mem's hook routes, for the bursty and cost benchmarks: the v8.5.7 session manager
 * with the analysis's fix (bench/contenders/seed-fix.ts: one call per observation, history bounded at 50
 * messages by a window that slides by one message per append), whose agent sends the session's history
 * to an LLM, as claude-mem's do. A route answers once the item is queued, as claude-mem's do; the agent
 * works behind it.
 *
 *   openai     an OpenAI-compatible /chat/completions endpoint (the bursty benchmark);
 *   anthropic  Anthropic's Messages API through the official SDK (the cost benchmark), the window as it
 *              is, without cache breakpoints: claude-mem's providers that send their own history set none,
 *              and a breakpoint on a window that slides would only add writes (1.25×) that are never read.
 *
 *   node --import tsx bench/server-seed-fix.ts <port> <base URL> [openai|anthropic]
 */
import { createServer } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { systemClock } from '../src/clock/index.js';
import { initPrompt, observationPrompt, summaryPrompt } from '../src/index.js';
import { createSeedFix } from './contenders/index.js';
import type { HistoryMessage } from './contenders/types.js';
import { jsonBodyOf } from './lib/json-body.js';

const [portArg, baseUrl, api = 'openai'] = process.argv.slice(2);
if (portArg === undefined || baseUrl === undefined || (api !== 'openai' && api !== 'anthropic')) {
  throw new Error('usage: server-seed-fix <port> <base URL> [openai|anthropic]');
}

async function chat(history: readonly HistoryMessage[]): Promise<string> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake', messages: history.map(({ role, content }) => ({ role, content })) }),
  });
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0]!.message.content;
}

const anthropic = api === 'anthropic' ? new Anthropic({ apiKey: 'sk-ant-bench', baseURL: baseUrl, maxRetries: 2 }) : undefined;
async function messages(history: readonly HistoryMessage[]): Promise<string> {
  // The API wants a user message first: a window that slid past its prompt starts at the next one.
  const from = history.findIndex((message) => message.role === 'user');
  const message = await anthropic!.messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: 8_192,
    messages: history.slice(Math.max(0, from)).map(({ role, content }) => ({ role, content })),
  });
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

const contender = createSeedFix({
  clock: systemClock,
  idleTtlMs: 3_600_000,
  reply: (_prompt, history) => (api === 'anthropic' ? messages(history) : chat(history)),
});

const server = createServer((req, res) => {
  const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method === 'GET' && req.url === '/api/readiness') return answer(200, { status: 'ready' });
  if (req.method !== 'POST') return answer(404, { error: 'not found' });
  jsonBodyOf(req).then(
    (body) => {
      const id = String(body.contentSessionId);
      if (req.url === '/api/sessions/init') {
        void contender.init(id, String(body.project), initPrompt(String(body.project), String(body.prompt), 1));
        return answer(200, { status: 'queued' });
      }
      if (req.url === '/api/sessions/observations') {
        const prompt = observationPrompt({
          toolName: String(body.tool_name),
          toolInput: body.tool_input,
          toolResponse: body.tool_response,
          cwd: String(body.cwd),
          at: Date.now(),
        });
        void contender.observe(id, prompt);
        return answer(200, { status: 'queued' });
      }
      if (req.url === '/api/sessions/summarize') {
        void contender.summarize(id, summaryPrompt(String(body.last_assistant_message ?? '')));
        return answer(200, { status: 'queued' });
      }
      return answer(404, { error: 'not found' });
    },
    () => answer(400, { error: 'not JSON' }),
  );
});
server.listen(Number(portArg), '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
