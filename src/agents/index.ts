/** Agent providers and the contract every provider implements. */
export type { Agent, AgentErrorKind, AgentReply, AgentRequest } from './agent.js';
export { AgentError, replyOutput, toAgentFailure } from './agent.js';
export { createLocalAgent } from './local.js';
export { chatMessages, createOpenAICompatibleAgent, type OpenAICompatibleOptions } from './openai.js';
export { initPrompt, observationPrompt, sectionOf, summaryPrompt, type ToolUse } from './prompts.js';
