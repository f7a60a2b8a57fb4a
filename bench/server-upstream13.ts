/**
 * `upstream-13` for the cost benchmark: claude-mem 13.x's observer as its source describes it
 * (src/services/worker/ClaudeProvider.ts, SessionManager.ts and SessionMessageBuffer.ts in
 * github:thedotmack/claude-mem 13.15.3), behind its hook routes, against Anthropic's Messages API.
 *
 * claude-mem starts one Claude Code process per session through the Agent SDK, in streaming-input mode,
 * and yields it one user message per queued item: the init prompt, then one per observation and one per
 * summary request, in order. Claude Code keeps the conversation and sends all of it with every turn:
 *   - one API call per observation (and per prompt and summary), each with the whole conversation so far;
 *   - cache breakpoints as Claude Code sets them: on the system prompt and on the last message;
 *   - the Agent SDK's minimal system prompt and no tools (claude-mem passes `tools: []` and no systemPrompt);
 *   - auto-compaction: before a turn whose context would pass about 83 % of the 200,000-token window
 *     (Claude Code's default on a 200K model: the window less its output reserve and a safety buffer,
 *     167,000 tokens), one call sends the conversation with a request to summarise it, and the summary
 *     replaces the conversation;
 *   - streamed answers, as Claude Code reads them.
 * claude-mem's observer ends when no message arrives for 3 minutes; the benchmark's pauses are shorter,
 * so its conversation lives for the whole session, as it does in a busy real one.
 *
 *   node --import tsx bench/server-upstream13.ts <port> <Anthropic base URL>
 */
import { createServer } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { jsonBodyOf } from './lib/json-body.js';
import {
  compactionPrompt,
  continuedFrom,
  SDK_SYSTEM_PROMPT,
  upstreamInitPrompt,
  upstreamObservationPrompt,
  upstreamSummaryPrompt,
} from './lib/upstream13-prompts.js';

const [portArg, baseUrl] = process.argv.slice(2);
if (portArg === undefined || baseUrl === undefined) throw new Error('usage: server-upstream13 <port> <Anthropic base URL>');

/** Claude Code's auto-compaction point on a 200K-context model (83.5 % of the window). */
const AUTOCOMPACT_TOKENS = 200_000 - 20_000 - 13_000;
const MODEL = 'claude-haiku-4-5';
const client = new Anthropic({ apiKey: 'sk-ant-bench', baseURL: baseUrl, maxRetries: 2 });
const tokensOf = (text: string) => Math.ceil(text.length / 4);

type Pending =
  | {
      readonly type: 'observation';
      readonly toolName: string;
      readonly toolInput: unknown;
      readonly toolResponse: unknown;
      readonly cwd: string;
      readonly at: number;
    }
  | { readonly type: 'summarize'; readonly lastAssistantMessage: string };

interface Session {
  readonly project: string;
  userPrompt: string;
  readonly pending: Pending[];
  /** Claude Code's conversation: what every turn sends. */
  conversation: { role: 'user' | 'assistant'; content: string }[];
  running: boolean;
  wake?: () => void;
  compactions: number;
}
const sessions = new Map<string, Session>();

/** One turn: the conversation with a breakpoint on the system prompt and on the last message, streamed. */
async function turn(session: Session): Promise<string> {
  const last = session.conversation.length - 1;
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 32_000,
    system: [{ type: 'text', text: SDK_SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }],
    messages: session.conversation.map(({ role, content }, index) => ({
      role,
      content: [index === last ? { type: 'text', text: content, cache_control: { type: 'ephemeral' } } : { type: 'text', text: content }],
    })),
  });
  const message = await stream.finalMessage();
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

/** Appends a user message, compacting first when the context would pass Claude Code's threshold. */
async function send(session: Session, content: string): Promise<void> {
  const context = tokensOf(SDK_SYSTEM_PROMPT) + session.conversation.reduce((sum, message) => sum + tokensOf(message.content), 0);
  if (context + tokensOf(content) > AUTOCOMPACT_TOKENS) {
    session.compactions++;
    session.conversation.push({ role: 'user', content: compactionPrompt(`compact:${session.compactions}-${Date.now()};`) });
    const summary = await turn(session);
    session.conversation = [{ role: 'user', content: continuedFrom(summary) }];
  }
  session.conversation.push({ role: 'user', content });
  session.conversation.push({ role: 'assistant', content: await turn(session) });
}

/** claude-mem's message generator: the init prompt, then each queued item in order, one turn each. */
async function observe(session: Session): Promise<void> {
  await send(session, upstreamInitPrompt(session.project, session.userPrompt));
  for (;;) {
    const next = session.pending.shift();
    if (next === undefined) {
      await new Promise<void>((resolve) => {
        session.wake = resolve;
      });
      continue;
    }
    const prompt =
      next.type === 'observation' ? upstreamObservationPrompt(next) : upstreamSummaryPrompt(session.userPrompt, next.lastAssistantMessage);
    await send(session, prompt);
  }
}

function sessionFor(id: string, project = 'bench'): Session {
  let session = sessions.get(id);
  if (session === undefined) {
    session = { project, userPrompt: '', pending: [], conversation: [], running: false, compactions: 0 };
    sessions.set(id, session);
  }
  return session;
}

function enqueue(session: Session, item: Pending): void {
  session.pending.push(item);
  session.wake?.();
  session.wake = undefined;
}

const server = createServer((req, res) => {
  const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method === 'GET' && req.url === '/api/readiness') return answer(200, { status: 'ready' });
  if (req.method !== 'POST') return answer(404, { error: 'not found' });
  jsonBodyOf(req).then(
    (body) => {
      const session = sessionFor(String(body.contentSessionId), String(body.project ?? 'bench'));
      if (req.url === '/api/sessions/init') {
        session.userPrompt = String(body.prompt);
        if (!session.running) {
          session.running = true;
          observe(session).catch((error: unknown) => {
            process.stderr.write(`upstream-13 observer stopped: ${(error as Error).message}\n`);
            session.running = false;
          });
        }
        return answer(200, { sessionDbId: 1, promptNumber: 1, skipped: false });
      }
      if (req.url === '/api/sessions/observations') {
        const { tool_name, tool_input, tool_response, cwd } = body;
        enqueue(session, {
          type: 'observation',
          toolName: String(tool_name),
          toolInput: tool_input,
          toolResponse: tool_response,
          cwd: String(cwd),
          at: Date.now(),
        });
        return answer(200, { status: 'queued' });
      }
      if (req.url === '/api/sessions/summarize') {
        enqueue(session, { type: 'summarize', lastAssistantMessage: String(body.last_assistant_message ?? '') });
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
