import { createHash } from 'node:crypto';
import { compareHost, declaredHostFields, driftIgnoredBy, driftModeFor, matchesSelector, type DriftIgnoreRule, type DriftMode, type DriftModeRule, type HostFacts, type LabelSelector, type PolicySet } from '@estate/core';
import type { ReportProcessor } from '../ingest/types.js';
import type { CommitRef, Store } from '../store/Store.js';
import type { DriftStore } from './DriftStore.js';

/** A declared Host as the engine keeps it: enough to compare and to filter by labels. */
interface DeclaredHost {
  id: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

/** What the engine compares reports against: the Host assets, ignore and mode rules of one commit of main. */
interface Declared {
  commit: CommitRef;
  hosts: Map<string, DeclaredHost>;
  /** The same hosts by asset id. */
  byId: Map<string, DeclaredHost>;
  ignores: DriftIgnoreRule[];
  modes: DriftModeRule[];
}

/** A host that reported before but not within the stale threshold. */
export interface StaleHost {
  asset: string;
  host: string;
  lastReportAt: string;
  reportId: string;
}

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
  readonly #o: DriftOptions;
  #declared: Declared | undefined;
  #onEvaluated: (() => void) | undefined;

  constructor(drift: DriftStore, options: Partial<DriftOptions> = {}) {
    this.#drift = drift;
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
   * Reads the Host assets and ignore rules at `head` and re-evaluates every observed host. `policies`
   * loads the policy set of a commit. Does nothing when the snapshot is of `head` already.
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
    const declared: Declared = { commit: head, hosts, byId, ignores: policySet.driftIgnores, modes: policySet.driftModes };
    this.#declared = declared;
    const now = new Date().toISOString();
    for (const observation of this.#drift.observations()) {
      this.#drift.transaction(() => this.#evaluate(declared, observation.host, JSON.parse(observation.facts) as HostFacts, observation.reportId, now));
    }
    this.#resolveUndeclared(declared, now);
    this.#onEvaluated?.();
  }

  /**
   * Resolves (reason `undeclared`) the open items of assets no longer declared, and of fields their
   * asset no longer declares. Only a new snapshot can undeclare something, so refresh calls it.
   */
  #resolveUndeclared(declared: Declared, at: string): void {
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

  /** Declared hosts whose latest report is older than the threshold, by name. */
  stale(now = Date.now()): StaleHost[] {
    const declared = this.#declared;
    if (!declared) return [];
    return this.#drift
      .observations()
      .filter((o) => declared.hosts.has(o.host) && now - Date.parse(o.observedAt) > this.#o.staleAfterMs)
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

  #evaluate(declared: Declared, host: string, facts: HostFacts, reportId: string, at: string): void {
    const asset = declared.hosts.get(host);
    if (!asset) {
      this.#drift.markUnmanaged(host, reportId, at);
      return;
    }
    this.#drift.markManaged(host);
    const fields = compareHost({ spec: asset.spec }, facts, { sha256 });
    const ignored = this.#drift.ignoredObservations(asset.id);
    // An ignored item stays ignored while its observed value stays the same; another value opens it again.
    for (const f of fields) if (f.differs && ignored.has(f.field) && ignored.get(f.field) !== JSON.stringify(f.observed)) this.#drift.unignore(asset.id, f.field);
    this.#drift.record(asset.id, fields, (field) => driftIgnoredBy(declared.ignores, { kind: 'Host', labels: asset.labels }, field)?.reason, { reportId, at, host, commit: declared.commit.sha });
  }
}
