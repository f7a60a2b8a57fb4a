/** Agent providers and the contract every provider implements. */
export type { Agent, AgentReply, AgentRequest, AgentErrorKind } from './agent.js';
export { AgentError } from './agent.js';
export { createLocalAgent } from './local.js';
export { createOpenAICompatibleAgent, chatMessages, type OpenAICompatibleOptions } from './openai.js';
export { initPrompt, observationPrompt, summaryPrompt, sectionOf, type ToolUse } from './prompts.js';
