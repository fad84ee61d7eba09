import { AUDIT_GENESIS, hashAuditEntry } from './hashAuditEntry.js';
import { MAX_AUDIT_PROBLEMS, type AuditAnchor, type AuditEntry, type AuditProblemCode, type AuditVerification } from './types.js';

/** Options of {@link AuditChainVerifier}. */
export interface AuditChainVerifierOptions {
  /**
   * Where the entries start. `genesis` (default): at seq 1, whose prevHash is {@link AUDIT_GENESIS}.
   * An anchor: right after that trusted entry (its seq + 1, prevHash its hash), to verify what was
   * appended since an earlier verification. `any`: wherever the first entry says, for a slice such
   * as an export with `--since`; the slice's first entry is then only checked against its own hash.
   */
  start?: 'genesis' | 'any' | AuditAnchor;
  /**
   * An entry an auditor recorded earlier (a previous verification's head). The entries must reach
   * it and hold it unchanged: a chain alone cannot show that its newest entries were cut off, or
   * rewritten and re-hashed from some entry on, but the anchor can.
   */
  anchor?: AuditAnchor;
}

/**
 * Verifies a trail incrementally, entry by entry in seq order, in constant memory, so that a
 * stored trail and an export file of any size are checked the same way. Each entry is checked
 * three ways: its hash against its content (`E_AUDIT_TAMPERED`: a field was edited), its seq
 * against the previous one (`E_AUDIT_GAP`: entries are missing or out of order), and its
 * prevHash against the previous entry's hash (`E_AUDIT_BROKEN_LINK`: an entry before it was
 * changed and re-hashed, or removed). An optional anchor catches a truncated or rewritten tail.
 */
export class AuditChainVerifier {
  private readonly anchor: AuditAnchor | undefined;
  private readonly problems: AuditVerification['problems'] = [];
  private moreProblems = 0;
  private entries = 0;
  /** The previous entry, or what the first entry must follow (undefined: anything, for `any`). */
  private previous: AuditAnchor | undefined;
  private last: AuditAnchor | undefined;
  /** The hash the anchor's seq had, once seen. */
  private anchorSeen: string | undefined;

  constructor(options: AuditChainVerifierOptions = {}) {
    const start = options.start ?? 'genesis';
    this.previous = start === 'genesis' ? { seq: 0, hash: AUDIT_GENESIS } : start === 'any' ? undefined : { ...start };
    this.anchor = options.anchor;
  }

  /** Checks the next entry; entries must come in the order they were appended (seq ascending). */
  add(entry: AuditEntry): void {
    this.entries++;
    const seq = entry.seq;
    let computed: string | undefined;
    try {
      computed = hashAuditEntry(entry);
    } catch {
      computed = undefined; // a field JSON cannot hold: not something this trail wrote
    }
    if (computed !== entry.hash) {
      this.report(
        seq,
        'E_AUDIT_TAMPERED',
        computed === undefined
          ? `audit entry ${seq} cannot be hashed: a field is missing or of the wrong type`
          : `audit entry ${seq} was changed after it was written: it records hash ${entry.hash} but its content hashes to ${computed}`,
      );
    }
    const previous = this.previous;
    if (previous !== undefined) {
      if (seq !== previous.seq + 1) {
        this.report(
          seq,
          'E_AUDIT_GAP',
          seq > previous.seq + 1
            ? `${previous.seq + 1 === seq - 1 ? `audit entry ${seq - 1} is` : `audit entries ${previous.seq + 1} to ${seq - 1} are`} missing: entry ${seq} follows entry ${previous.seq}`
            : `audit entry ${seq} is out of order: it follows entry ${previous.seq}`,
        );
      }
      if (entry.prevHash !== previous.hash) {
        const before = previous.seq === 0 ? 'the genesis value' : `the hash ${previous.hash} of entry ${previous.seq}`;
        this.report(seq, 'E_AUDIT_BROKEN_LINK', `audit entry ${seq} links to ${entry.prevHash}, not to ${before}: an entry before it was changed or removed`);
      }
    }
    if (this.anchor && seq === this.anchor.seq && this.anchorSeen === undefined) this.anchorSeen = entry.hash;
    // The recorded hash, not the computed one: the next entry must link to what was written.
    this.previous = { seq, hash: entry.hash };
    this.last = { seq, hash: entry.hash };
  }

  /** The outcome so far; may be called more than once. */
  result(): AuditVerification {
    const problems = [...this.problems];
    let more = this.moreProblems;
    const anchor = this.anchor;
    if (anchor) {
      let problem: AuditVerification['problems'][number] | undefined;
      if (this.anchorSeen === undefined) {
        const lastSeq = this.last?.seq ?? 0;
        problem = {
          seq: anchor.seq,
          code: 'E_AUDIT_GAP',
          message:
            lastSeq < anchor.seq
              ? `the trail ends at entry ${lastSeq} but the anchor records entry ${anchor.seq}: newer entries were removed`
              : `the anchor's entry ${anchor.seq} is missing from the trail`,
        };
      } else if (this.anchorSeen !== anchor.hash) {
        problem = {
          seq: anchor.seq,
          code: 'E_AUDIT_TAMPERED',
          message: `audit entry ${anchor.seq} has hash ${this.anchorSeen} but the anchor records ${anchor.hash}: the trail was rewritten from there or before`,
        };
      }
      if (problem) {
        if (problems.length < MAX_AUDIT_PROBLEMS) problems.push(problem);
        else more++;
      }
    }
    return {
      ok: problems.length === 0,
      entries: this.entries,
      ...(this.last ? { head: { ...this.last } } : {}),
      problems,
      ...(more > 0 ? { moreProblems: more } : {}),
    };
  }

  private report(seq: number, code: AuditProblemCode, message: string): void {
    if (this.problems.length < MAX_AUDIT_PROBLEMS) this.problems.push({ seq, code, message });
    else this.moreProblems++;
  }
}
