export * from './errors.js';
export * from './diagnostics.js';
export * from './limits.js';
export * from './jsonPointer.js';
export * from './values.js';
export * from './estate.js';
export * from './loadEstate.js';
export * from './estateTracker.js';
export * from './relations.js';
export * from './diffEstates.js';
export { parseYamlFile, type ParsedYamlFile, type YamlDocument } from './yaml/parseYamlFile.js';
export { locateInDocument } from './yaml/locateInDocument.js';
export { patchYamlDocument, replaceYamlDocument, toYamlDocument } from './yaml/editYamlDocuments.js';
export { positionAt, type TextPosition } from './yaml/textPosition.js';
export { buildKindRegistry, KIND_NAME, type KindDefinition, type KindRegistry, type SchemaDocument } from './kinds/kindRegistry.js';
export { findSchemaFields, valuesAt, type FieldPattern, type ReferenceField, type UniqueField } from './kinds/referenceFields.js';
export { compileSchema, type JsonSchema } from './kinds/schemaCompiler.js';
export { displayPath, describeValue } from './kinds/schemaProblems.js';
export * from './labelSelector.js';
export * from './memoryParseCache.js';
export * from './assetSkeleton.js';
export { API_VERSION, DNS_LABEL, parseAssetRef } from './assetChecks.js';
export { applyMergePatch } from './mergePatch.js';
export * from './policy/types.js';
export { loadPolicies, isPolicyPath, POLICY_PREFIX, POLICY_KINDS, DRIFT_MODES, MAX_FREEZE_DURATION_MS } from './policy/loadPolicies.js';
export { driftModeFor, type DriftModeDecision } from './policy/driftMode.js';
export { evaluatePolicies, tallyApprovals, DEFAULT_REQUIREMENT, POLICY_CHANGE_REQUIREMENT } from './policy/evaluatePolicies.js';
export { activeFreezes } from './policy/activeFreezes.js';
export { parseCron, previousCronTime, nextCronTime, isValidTimeZone, type CronSchedule } from './policy/cron.js';
export { matchesPathGlob, matchesPointerGlob } from './policy/globs.js';
export { compareHost, type CompareHostOptions, MEMORY_TOLERANCE_GIB, MEMORY_TOLERANCE_RATIO, type DriftField } from './drift/compareHost.js';
export type { HostFacts, ListeningPort, ObservedFile } from './drift/hostFacts.js';
export { compareVersions, compileVersionSpec, satisfiesVersion } from './drift/versionRange.js';
export { driftIgnoredBy } from './drift/driftIgnore.js';
export { adoptObserved, declaredHostFields, declareObservedHost, type Adoption, type AdoptionOperation, type HostDocument } from './drift/adoptObserved.js';
export * from './config/types.js';
export { classifyConfigPath, isConfigPath, CONFIG_PREFIX } from './config/configLayout.js';
export { mergeConfig } from './config/mergeConfig.js';
export { loadConfigFiles } from './config/loadConfigFiles.js';
export { resolveConfig, validateConfigs } from './config/resolveConfig.js';
export { configProblems } from './config/configProblems.js';
export { renderConfig, toEnvName, quoteEnvValue, escapeProperty, CONFIG_FORMATS } from './config/renderConfig.js';
export { parseSecretsFile, SECRETS_KIND, SECRET_KEY, AGE_RECIPIENT, type SecretsFileSummary } from './secrets/secretsFile.js';
export {
  generateSecretIdentity,
  recipientOfIdentity,
  encryptSecrets,
  decryptSecrets,
  setSecret,
  rotateSecrets,
  diffSecrets,
  MAX_SECRET_VALUE_BYTES,
  type SecretIdentity,
  type EncryptSecretsInput,
  type SetSecretInput,
  type SecretsDiff,
} from './secrets/secrets.js';
