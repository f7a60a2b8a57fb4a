/** The worker's configuration: $CLAUDE_MEM_DATA_DIR/settings.json, overridden by the environment. */
export {
  ConfigError,
  DEFAULT_INSPECTOR_URL,
  DEFAULT_SKIP_TOOLS,
  SETTINGS,
  SETTING_KEYS,
  eventLogPath,
  expandHome,
  isLoopback,
  loadConfig,
  resolveDataDir,
} from './config.js';
export type { LoadConfigOptions, LogLevel, ProviderName, SettingKey, WorkerConfig } from './config.js';
