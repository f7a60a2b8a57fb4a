/** The worker's configuration: $CLAUDE_MEM_DATA_DIR/settings.json, overridden by the environment. */

export type { LoadConfigOptions, LogLevel, ProviderName, SettingKey, WorkerConfig } from './config.js';
export {
  ConfigError,
  DEFAULT_INSPECTOR_URL,
  DEFAULT_SKIP_TOOLS,
  eventLogPath,
  expandHome,
  isLoopback,
  loadConfig,
  resolveDataDir,
  SETTING_KEYS,
  SETTINGS,
} from './config.js';
