/**
 * `leaky`: the session manager as v8.5.7 has it, per the analysis: sessions are never removed (no TTL;
 * only an explicit delete would), conversationHistory grows without bound, and each reply is appended
 * twice (by the agent, and again by the response processor).
 */
import { SessionManager } from './session-manager.js';
import type { Contender, ContenderOptions } from './types.js';

export function createLeaky(options: ContenderOptions): Contender {
  return new SessionManager(options, { replyAppends: 2 }).contender('leaky');
}
