import { createHash } from 'node:crypto';
import { compareHost, declaredHostFields, driftIgnoredBy, driftModeFor, matchesSelector, type DriftIgnoreRule, type DriftMode, type DriftModeRule, type HostFacts, type LabelSelector, type PolicySet } from '@estate/core';
import type { GitCliRepo } from '@estate/git';
import type { ReportProcessor } from '../ingest/types.js';
import type { CommitRef, Store } from '../store/Store.js';
import type { DriftStore } from './DriftStore.js';
import { locateSources } from './sourceFiles.js';

/** A declared Host as the engine keeps it: enough to compare and to filter by labels. */
interface DeclaredHost {
  id: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

/**
 * What the engine compares reports against: the Host assets, ignore and mode rules of one commit
 * of main. Plain data, so it can be handed to the ingest thread (docs/ingest.md#the-ingest-thread).
 */
export interface DriftSnapshot {
  commit: CommitRef;
  hosts: Map<string, DeclaredHost>;
  /** The same hosts by asset id. */
  byId: Map<string, DeclaredHost>;
  ignores: DriftIgnoreRule[];
  modes: DriftModeRule[];
  /** Hex SHA-256 of each readable `source:` the hosts name, by source as declared. */
  sources: Map<string, string>;
}

/** A host that reported before but not within the stale threshold. */
export interface StaleHost {
  asset: string;
  host: string;
  lastReportAt: string;
  reportId: string;
}

/** What {@link DriftEngine} reads and reports to besides the stores. */
export interface DriftEngineDeps {
  /** The estate repo, to read `source:` files at the snapshot's commit ({@link DriftEngine.refresh} needs it). */
  repo?: Pick<GitCliRepo, 'listTree' | 'readBlobs'>;
  log: (level: 'warn', message: string, data?: Record<string, unknown>) => void;
  /**
   * Writes what a new snapshot changes: re-evaluates every observed host against it. By default
   * this engine does it ({@link DriftEngine.evaluateAll}); with the ingest thread, that thread's
   * engine does, in the same thread as the reports it applies.
   */
  evaluateAll?: (snapshot: DriftSnapshot) => Promise<void>;
}

/** At most this many bytes of `source:` blobs are read in one round trip. */
const SOURCE_READ_BYTES = 16 * 1024 * 1024;

/** Options of {@link DriftEngine}. */
export interface DriftOptions {
  /** A declared host whose last report is older than this is stale (ms, default 15 min). */
  staleAfterMs: number;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The drift engine (docs/drift.md): compares each applied report with the Host asset of the same
 * name at the read model's head, as a report processor inside the consumer's transaction. The
 * declared side is read asynchronously (store, policies from git) into a snapshot whenever main
 * moves; every refresh re-evaluates each host's latest observation, so drift also opens and
 * resolves when the declared side changes, and reports applied before the first snapshot are
 * caught up.
 */
export class DriftEngine {
  readonly #drift: DriftStore;
  readonly #deps: DriftEngineDeps;
  readonly #o: DriftOptions;
  #declared: DriftSnapshot | undefined;
  #onEvaluated: (() => void) | undefined;
  /** Hex SHA-256 by blob id of the snapshot's `source:` files: a blob is read again only when it changes. */
  #blobDigests = new Map<string, string>();

  constructor(drift: DriftStore, deps: DriftEngineDeps, options: Partial<DriftOptions> = {}) {
    this.#drift = drift;
    this.#deps = deps;
    this.#o = { staleAfterMs: 15 * 60_000, ...options };
  }

  /**
   * Calls `listener` after each evaluation that may have written drift events (a report applied, a
   * refresh), inside the consumer's transaction for a report: it must only schedule work.
   */
  onEvaluated(listener: () => void): void {
    this.#onEvaluated = listener;
  }

  /** The head the snapshot was read at, if any. */
  get commit(): CommitRef | undefined {
    return this.#declared?.commit;
  }

  /** The processor to hand to the ingest consumer (`ingest.processors`). */
  readonly processor: ReportProcessor = (report, { stale }) => {
    // A stale report's facts are older than the observation already evaluated; before the first snapshot the refresh catches up.
    if (stale || !this.#declared) return;
    this.#evaluate(this.#declared, report.host, report.facts, report.reportId, report.collectedAt);
    this.#onEvaluated?.();
  };

  /**
   * Reads the Host assets, their `source:` files and the ignore and mode rules at `head`, has every
   * observed host re-evaluated against them, then serves them. `policies` loads the policy set of a
   * commit. Does nothing when the snapshot is of `head` already.
   */
  async refresh(head: CommitRef, store: Store, policies: (sha: string) => Promise<PolicySet>): Promise<void> {
    if (this.#declared?.commit.sha === head.sha) return;
    const [assets, policySet] = await Promise.all([store.listAssets({ seq: head.seq, kind: 'Host', limit: Number.MAX_SAFE_INTEGER }), policies(head.sha)]);
    const hosts = new Map<string, DeclaredHost>();
    for (const asset of assets) {
      const metadata = (asset.document['metadata'] ?? {}) as { labels?: Record<string, string> };
      hosts.set(asset.name, { id: asset.id, labels: metadata.labels ?? {}, spec: (asset.document['spec'] ?? {}) as Record<string, unknown> });
    }
    const byId = new Map([...hosts.values()].map((host) => [host.id, host]));
    const sources = await this.#sourceDigests(head, byId);
    const snapshot: DriftSnapshot = { commit: head, hosts, byId, ignores: policySet.driftIgnores, modes: policySet.driftModes, sources };
    if (this.#deps.evaluateAll) {
      await this.#deps.evaluateAll(snapshot);
      this.#declared = snapshot;
      this.#onEvaluated?.();
    } else {
      this.evaluateAll(snapshot);
    }
  }

  /**
   * Takes `snapshot` as the declared side and re-evaluates every host's latest observation against
   * it, so drift also opens and resolves when the declared side changes (and reports applied before
   * the first snapshot are caught up); resolves the items of what it no longer declares.
   */
  evaluateAll(snapshot: DriftSnapshot): void {
    this.#declared = snapshot;
    const now = new Date().toISOString();
    for (const observation of this.#drift.observations()) {
      this.#drift.transaction(() => this.#evaluate(snapshot, observation.host, JSON.parse(observation.facts) as HostFacts, observation.reportId, now));
    }
    this.#resolveUndeclared(snapshot, now);
    this.#onEvaluated?.();
  }

  /**
   * The SHA-256 of each `source:` the hosts name, read from git at `head`. A source that cannot be
   * read (outside the repo, missing, not a regular file, too large) has none, so its content is not
   * compared, and is logged once (a URL is not read, and not logged).
   */
  async #sourceDigests(head: CommitRef, hosts: Map<string, DeclaredHost>): Promise<Map<string, string>> {
    const namedBy = new Map<string, string[]>();
    for (const host of hosts.values()) {
      for (const source of sourcesOf(host.spec)) {
        const assets = namedBy.get(source);
        if (assets) assets.push(host.id);
        else namedBy.set(source, [host.id]);
      }
    }
    const { repo } = this.#deps;
    if (!repo) throw new Error('the drift engine reads snapshots only with the repo');
    const located = await locateSources(repo, head.sha, namedBy.keys());
    const digests = new Map<string, string>();
    const unread = new Map<string, number>();
    for (const [source, blob] of located) {
      if ('problem' in blob) {
        if (blob.problem.code !== 'E_SOURCE_URL') {
          const assets = namedBy.get(source)!;
          this.#deps.log('warn', `drift: ${blob.problem.message}; its content is not compared`, { code: blob.problem.code, source, commit: head.sha, assets: assets.slice(0, 10), hosts: assets.length });
        }
        continue;
      }
      const known = this.#blobDigests.get(blob.oid);
      if (known !== undefined) digests.set(blob.oid, known);
      else unread.set(blob.oid, blob.size);
    }
    let batch: string[] = [];
    let bytes = 0;
    const readBatch = async (): Promise<void> => {
      const blobs = await repo.readBlobs(batch);
      batch.forEach((oid, i) => digests.set(oid, createHash('sha256').update(blobs[i]!).digest('hex')));
      batch = [];
      bytes = 0;
    };
    for (const [oid, size] of unread) {
      if (batch.length > 0 && bytes + size > SOURCE_READ_BYTES) await readBatch();
      batch.push(oid);
      bytes += size;
    }
    if (batch.length > 0) await readBatch();
    this.#blobDigests = digests;
    const out = new Map<string, string>();
    for (const [source, blob] of located) if ('oid' in blob) out.set(source, digests.get(blob.oid)!);
    return out;
  }

  /**
   * Resolves (reason `undeclared`) the open items of assets no longer declared, and of fields their
   * asset no longer declares. Only a new snapshot can undeclare something, so refresh calls it.
   */
  #resolveUndeclared(declared: DriftSnapshot, at: string): void {
    for (const asset of this.#drift.openAssets()) {
      const host = declared.byId.get(asset);
      const fields = host && declaredHostFields(host.spec);
      this.#drift.transaction(() => {
        for (const item of this.#drift.openItems(asset)) {
          if (fields?.has(item.field)) continue;
          const name = asset.slice(asset.indexOf('/') + 1);
          this.#drift.resolve(asset, item.field, 'undeclared', { reportId: item.reportId, at, host: name, commit: declared.commit.sha }, { what: host ? 'field' : 'asset' });
        }
      });
    }
  }

  /** DriftSnapshot hosts whose latest report is older than the threshold, by name. */
  stale(now = Date.now()): StaleHost[] {
    const declared = this.#declared;
    if (!declared) return [];
    // An index on the report time: at 10k hosts, reading every host's facts here stalled ingestion (~0.5 s per poll).
    return this.#drift
      .reportedBefore(new Date(now - this.#o.staleAfterMs).toISOString())
      .filter((o) => declared.hosts.has(o.host))
      .map((o) => ({ asset: declared.hosts.get(o.host)!.id, host: o.host, lastReportAt: o.observedAt, reportId: o.reportId }));
  }

  /** Ids of the declared hosts whose labels `selector` matches. */
  assetsMatching(selector: LabelSelector): string[] {
    return [...(this.#declared?.hosts.values() ?? [])].filter((host) => matchesSelector(selector, host.labels)).map((host) => host.id);
  }

  /**
   * The drift mode of an asset by the `DriftMode` rules at the snapshot (docs/drift.md#modes): of a
   * Host with its labels there, or of a Host without labels when it is not declared (any more).
   */
  modeOf(assetId: string): DriftMode {
    const labels = this.#declared?.byId.get(assetId)?.labels ?? {};
    return driftModeFor(this.#declared?.modes ?? [], { kind: 'Host', labels }).mode;
  }

  /** Gauges for `/metrics`. */
  metrics(): Array<{ name: string; help: string; value: number }> {
    const ignored = this.#drift.ignoredCount();
    return [
      { name: 'estate_drift_open', help: 'Drift items open (a declared field that differs from the latest report), ignored ones left out.', value: this.#drift.openCount() - ignored },
      { name: 'estate_drift_ignored', help: 'Open drift items ignored until their observed value changes.', value: ignored },
    ];
  }

  #evaluate(declared: DriftSnapshot, host: string, facts: HostFacts, reportId: string, at: string): void {
    const asset = declared.hosts.get(host);
    if (!asset) {
      this.#drift.markUnmanaged(host, reportId, at);
      return;
    }
    this.#drift.markManaged(host);
    const fields = compareHost({ spec: asset.spec }, facts, { sha256, sourceSha256: (source) => declared.sources.get(source) });
    const ignored = this.#drift.ignoredObservations(asset.id);
    // An ignored item stays ignored while its observed value stays the same; another value opens it again.
    for (const f of fields) if (f.differs && ignored.has(f.field) && ignored.get(f.field) !== JSON.stringify(f.observed)) this.#drift.unignore(asset.id, f.field);
    this.#drift.record(asset.id, fields, (field) => driftIgnoredBy(declared.ignores, { kind: 'Host', labels: asset.labels }, field)?.reason, { reportId, at, host, commit: declared.commit.sha });
  }
}

/** The `source:` of each managed file whose content comes from one (an inline `content` wins, as in compareHost). */
function sourcesOf(spec: Record<string, unknown>): string[] {
  const files = Array.isArray(spec['files']) ? (spec['files'] as unknown[]) : [];
  return files.flatMap((file) => {
    if (typeof file !== 'object' || file === null) return [];
    const { path, content, source } = file as Record<string, unknown>;
    return typeof path === 'string' && typeof content !== 'string' && typeof source === 'string' ? [source] : [];
  });
}
