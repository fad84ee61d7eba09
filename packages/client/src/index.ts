export { EstateClient, type AssetName, type EstateClientOptions } from './EstateClient.js';
export { EstateApiError } from './EstateApiError.js';
export type * from './types.js';
