/**
 * claude-mem on this machine, seen from this worker: its installed hooks and the port they call, its own
 * worker, `doctor` (what is found, in plain lines) and `install claude-mem` (the switch, in one step).
 */
export {
  type ClaudeMemPlugin,
  type ClaudeMemWorkerRecord,
  claudeMemStopCommand,
  findClaudeMemPlugins,
  hooksDefaultPort,
} from './discover.js';
export { doctor, type Finding, formatReport, type Report } from './doctor.js';
export { type ImportMemories, type InstallOptions, installClaudeMem } from './install.js';
export { describeOwner, type PortOwner, portOwner } from './probe.js';
