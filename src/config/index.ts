/** The worker's configuration: $CLAUDE_MEM_DATA_DIR/settings.json, overridden by the environment, then by command-line flags. */
export { ConfigError } from './errors.js';
export {
  type CommandLineValue,
  type EngineName,
  eventLogPath,
  expandHome,
  isLoopback,
  type LoadConfigOptions,
  type LogLevel,
  loadConfig,
  type ProviderName,
  type ProviderSettings,
  type RestateSettings,
  resolveDataDir,
  type WorkerConfig,
} from './load.js';
export { describeMisspelling, type Misspelling, misspelledKey, type SettingsNotices } from './notices.js';
export {
  claudeMemDefaultPort,
  DEFAULT_INSPECTOR_URL,
  DEFAULT_SKIP_TOOLS,
  PROVIDERS,
  SETTING_KEYS,
  SETTINGS,
  type Setting,
  type SettingKey,
} from './settings.js';
export { readSettingsFile, type SettingsFile, writeSetting } from './settings-file.js';
