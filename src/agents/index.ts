/** Agent providers and the contract every provider implements. */
export type { Agent, AgentErrorKind, AgentReply, AgentRequest, AgentUsage } from './agent.js';
export { AgentError, callAgent, toAgentFailure, toAgentOutput } from './agent.js';
export {
  ChildProcesses,
  type ChildProcessesOptions,
  type GuardedProcess,
  type ProcessSlot,
  type SpawnSpec,
} from './child-processes.js';
export {
  CLAUDE_SYSTEM_PROMPT,
  type ClaudeAgentOptions,
  claudeContent,
  claudeErrorKind,
  createClaudeAgent,
  DEFAULT_CLAUDE_MODEL,
} from './claude.js';
export { accountRefused, kindOfStatus, refusal, retryAfterMs } from './errors.js';
export { createFallbackAgent, type FallbackOptions } from './fallback.js';
export { createGeminiAgent, DEFAULT_GEMINI_MODEL, type GeminiAgentOptions } from './gemini.js';
export { createLocalAgent } from './local.js';
export {
  chatMessages,
  createOpenAICompatibleAgent,
  OPENROUTER_BASE_URL,
  type OpenAICompatibleOptions,
  openRouterHeaders,
} from './openai.js';
export { initPrompt, observationPrompt, sectionOf, summaryPrompt, type ToolUse } from './prompts.js';
