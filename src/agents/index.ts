/** Agent providers and the contract every provider implements. */
export type { Agent, AgentReply, AgentRequest, AgentErrorKind } from './agent.js';
export { AgentError } from './agent.js';
