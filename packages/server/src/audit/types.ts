/**
 * Types of the audit trail (docs/audit.md): what callers record ({@link AuditEvent}) and what the
 * trail holds ({@link AuditEntry}), each entry hash-chained to the one before it.
 */

/** Every kind of event the trail records; docs/audit.md lists the details each one carries. */
export const AUDIT_EVENT_TYPES = [
  'change.opened',
  'change.updated',
  'change.checked',
  'change.approved',
  'change.rejected',
  'change.merged',
  'change.closed',
  'change.reverted',
  'change.emergency',
  'review.acknowledged',
  'token.created',
  'token.revoked',
  'access.denied',
  'push.refused',
  'webhook.created',
  'webhook.deleted',
  'config.secrets.read',
  'config.release.started',
  'config.release.promoted',
  'config.release.aborted',
  'drift.adopted',
  'drift.declared',
  'drift.ignored',
  'drift.revert.requested',
] as const;

/** One kind of audited event, e.g. `change.merged`. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What a caller records. `details` must hold no secret: {@link AuditLog.append} refuses keys and values that look like one. */
export interface AuditEvent {
  /** The user name of the token that acted, or `system` for the server itself. */
  actor: string;
  event: AuditEventType;
  /** What the event is about: `change/12`, `token/tok_ab`, `commit/<sha>`, `webhook/wh_1`. */
  subject?: string;
  /** Non-secret facts about the event (JSON values only). */
  details: Record<string, unknown>;
  /** When it happened; default now. Never before the previous entry's time (see AuditLog.append). */
  at?: Date;
}

/** One entry of the trail, as stored, listed and exported. */
export interface AuditEntry {
  /** 1, 2, 3… without holes. */
  seq: number;
  /** ISO 8601 UTC with milliseconds, e.g. `2024-05-01T09:30:00.000Z`. */
  at: string;
  actor: string;
  event: string;
  subject: string | undefined;
  details: Record<string, unknown>;
  /** The previous entry's hash; {@link AUDIT_GENESIS} for seq 1. */
  prevHash: string;
  /** {@link hashAuditEntry} of every other field. */
  hash: string;
}

/** An entry an auditor has recorded (seq and hash), to check a later trail still holds it. */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** The codes of the problems a verification finds (docs/errors.md). */
export type AuditProblemCode = 'E_AUDIT_TAMPERED' | 'E_AUDIT_GAP' | 'E_AUDIT_BROKEN_LINK';

/** The outcome of checking a trail or a part of it. */
export interface AuditVerification {
  /** No problem found. */
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** The last entry checked: record it as an anchor to detect a truncated or rewritten tail later. */
  head?: AuditAnchor;
  /** At most {@link MAX_AUDIT_PROBLEMS} problems, in the order found. */
  problems: Array<{ seq: number; code: AuditProblemCode; message: string }>;
  /** Problems found beyond those listed. */
  moreProblems?: number;
}

/** Problems a verification lists at most; a thoroughly damaged trail needs no longer list. */
export const MAX_AUDIT_PROBLEMS = 1000;

/** A selection of entries; every filter is optional, entries come in seq order. */
export interface AuditQuery {
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time (exclusive). */
  until?: Date;
  actor?: string;
  event?: string;
  subject?: string;
  /** Entries after this seq (the cursor of the previous page). */
  afterSeq?: number;
  limit: number;
}
