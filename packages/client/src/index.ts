export { EstateClient, type AssetName, type EstateClientOptions } from './EstateClient.js';
export { EstateApiError } from './EstateApiError.js';
export type * from './types.js';
export { createConfigClient, type ConfigClient, type ConfigClientOptions, type ConfigErrorListener, type ConfigListener } from './config/ConfigClient.js';
export { FileConfigCache, type ConfigCacheKey } from './config/configCache.js';
export { SseParser, type SseEvent, type SseHandlers } from './config/sse.js';
export type { ConfigFormat, ConfigRelease, ConfigSecrets, ConfigSnapshot } from './config/types.js';
