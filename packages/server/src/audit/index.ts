/** The audit trail (docs/audit.md): re-exported by the package entry point. */
export { AuditChainVerifier, type AuditChainVerifierOptions } from './AuditChainVerifier.js';
export { AuditLog } from './AuditLog.js';
export { registerAuditRoutes } from './auditRoutes.js';
export { AUDIT_CSV_COLUMNS, formatAuditEntries } from './formatAuditEntries.js';
export { AUDIT_GENESIS, canonicalJson, hashAuditEntry } from './hashAuditEntry.js';
export { isSecretKey, MAX_AUDIT_DETAILS_BYTES, normalizeAuditDetails } from './normalizeAuditDetails.js';
export { parseAuditEntry } from './parseAuditEntry.js';
export {
  AUDIT_EVENT_TYPES,
  MAX_AUDIT_PROBLEMS,
  type AuditAnchor,
  type AuditEntry,
  type AuditEvent,
  type AuditEventType,
  type AuditProblemCode,
  type AuditQuery,
  type AuditVerification,
} from './types.js';
