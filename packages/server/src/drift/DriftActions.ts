import { adoptObserved, ConflictError, declareObservedHost, EstateError, InputError, NotFoundError, parsePointer, type Adoption, type AdoptionOperation } from '@estate/core';
import type { AuditLog } from '../audit/AuditLog.js';
import type { Actor, ChangeService, ChangeView } from '../changes/ChangeService.js';
import type { Store } from '../store/Store.js';
import type { ListedDriftItem, DriftStore, RevertRequest } from './DriftStore.js';

/** An adoption computed at a commit of main, ready to become a change request. */
export interface PlannedAdoption extends Adoption {
  asset: string;
  /** The commit of main the asset was read at: the change request's base. */
  base: string;
  /** The report whose facts were adopted. */
  reportId?: string;
}

/** What the drift actions need. */
export interface DriftActionDeps {
  drift: DriftStore;
  store: Store;
  changes: ChangeService;
  audit: AuditLog;
  now?: () => Date;
}

/** The title of the change request that adopts a host's observed state (the shadow one too). */
export function adoptionTitle(asset: string): string {
  return `drift: adopt observed state of ${asset}`;
}

/**
 * What people do about drift (docs/drift.md#acting-on-drift): adopt the observed values into a
 * change request, ask an enforcing agent to restore a managed file, ignore an item while its
 * observed value stays the same, declare an unmanaged host. Each is written to the audit trail.
 */
export class DriftActions {
  readonly #d: DriftActionDeps;
  readonly #now: () => Date;

  constructor(deps: DriftActionDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /**
   * The adoption of `asset`'s open items (ignored ones left out), or of those of `fields`, against
   * the Host at main's indexed head and the host's latest facts. Throws `E_ASSET_NOT_FOUND` when
   * main has no such Host.
   */
  async plan(asset: string, fields?: readonly string[]): Promise<PlannedAdoption> {
    const head = await this.#d.store.head();
    if (!head) throw new EstateError('E_NOT_READY', 'the server is still reading the estate repository; retry in a moment', {});
    const declared = (await this.#d.changes.estateAt(head.sha)).assets.get(asset);
    if (!declared || declared.kind !== 'Host') throw new NotFoundError('E_ASSET_NOT_FOUND', `main declares no Host '${asset}'; drift is adopted into Host assets`, { asset });
    const items = this.#d.drift.openItems(asset);
    const skipped: Adoption['skipped'] = [];
    let wanted: string[];
    if (fields === undefined) {
      wanted = items.filter((item) => item.state === 'open').map((item) => item.field);
      for (const item of items) if (item.state === 'ignored') skipped.push({ field: item.field, reason: 'the item is ignored' });
    } else {
      wanted = [];
      for (const field of new Set(fields)) {
        const item = items.find((i) => i.field === field);
        if (!item) skipped.push({ field, reason: 'no open drift item' });
        else if (item.state === 'ignored') skipped.push({ field, reason: 'the item is ignored' });
        else wanted.push(field);
      }
    }
    const observation = this.#d.drift.observation(declared.name);
    if (!observation) return { asset, base: head.sha, operations: [], adopted: [], skipped: [...skipped, ...wanted.map((field) => ({ field, reason: 'the host has not reported' }))] };
    const adoption = adoptObserved({ id: asset, document: declared.document.value as Record<string, unknown> }, observation.facts, wanted);
    return { asset, base: head.sha, reportId: observation.reportId, operations: adoption.operations, adopted: adoption.adopted, skipped: [...skipped, ...adoption.skipped] };
  }

  /**
   * Opens a change request adopting the observed values of `asset`'s open items (all, or `fields`).
   * `E_NOTHING_TO_ADOPT` (409) when none of them can be adopted; `details.skipped` says why.
   */
  async adopt(actor: Actor, input: { asset: string; fields?: string[]; title?: string }): Promise<{ change: ChangeView; skipped: Adoption['skipped'] }> {
    const plan = await this.plan(input.asset, input.fields);
    if (plan.operations.length === 0) {
      const why = plan.skipped.length === 0 ? `${input.asset} has no open drift` : `nothing of ${input.asset} can be adopted: ${plan.skipped.map((s) => `${s.field}: ${s.reason}`).join('; ')}`;
      throw new ConflictError('E_NOTHING_TO_ADOPT', why, { asset: input.asset, skipped: plan.skipped });
    }
    const change = await this.open(actor, plan, input.title ?? adoptionTitle(input.asset));
    this.#d.audit.append({ actor: actor.user, event: 'drift.adopted', subject: input.asset, details: { change: change.id, fields: plan.adopted, skipped: plan.skipped.map((s) => s.field) } });
    return { change, skipped: plan.skipped };
  }

  /** Opens the change request of a planned adoption (its description lists the fields, never values). */
  async open(actor: Actor, plan: PlannedAdoption, title: string): Promise<ChangeView> {
    return (await this.#d.changes.create(actor, { title, description: describeAdoption(plan), base: plan.base, operations: plan.operations as AdoptionOperation[] })) as ChangeView;
  }

  /**
   * Asks an enforcing agent to restore a managed file's field (content, mode, owner, or the whole
   * file) from Git. Other fields: `E_NOT_REVERTIBLE` (409), saying what to do instead.
   */
  requestRevert(actor: Actor, input: { asset: string; field: string }): RevertRequest & { mode?: string } {
    const { asset, field } = input;
    if (!isFileField(field)) {
      throw new ConflictError(
        'E_NOT_REVERTIBLE',
        `${field} cannot be reverted by the agent: only managed files (/spec/files/<path>, its content, mode or owner) are restored from Git. Change the host to match the declared value, or adopt the observed one (estate drift adopt ${asset} --field ${field})`,
        { asset, field },
      );
    }
    const item = this.#d.drift.openItems(asset).find((i) => i.field === field);
    if (!item) throw new NotFoundError('E_DRIFT_ITEM_NOT_FOUND', `${asset} has no open drift item ${field}`, { asset, field });
    const request: RevertRequest = { asset, field, requestedBy: actor.user, requestedAt: this.#now().toISOString() };
    this.#d.drift.transaction(() => {
      this.#d.drift.requestRevert(request);
      this.#d.drift.appendEvent({ at: request.requestedAt, type: 'drift.revert.requested', asset, field, itemId: item.id, details: { by: actor.user } });
    });
    this.#d.audit.append({ actor: actor.user, event: 'drift.revert.requested', subject: asset, details: { field } });
    return request;
  }

  /**
   * Ignores an open item while its observed value stays the same (`drift.ignored` event); a
   * different observed value opens it again. `E_DRIFT_ITEM_NOT_FOUND` (404) when none is open.
   */
  ignore(actor: Actor, input: { asset: string; field: string; reason: string }): ListedDriftItem {
    const reason = input.reason.trim();
    if (reason === '') throw new InputError('E_BAD_PARAM', 'ignoring drift needs a reason', { parameter: 'reason' });
    const item = this.#d.drift.ignore(input.asset, input.field, { reason, by: actor.user, at: this.#now().toISOString() });
    if (!item) throw new NotFoundError('E_DRIFT_ITEM_NOT_FOUND', `${input.asset} has no open drift item ${input.field}`, { asset: input.asset, field: input.field });
    this.#d.audit.append({ actor: actor.user, event: 'drift.ignored', subject: input.asset, details: { field: input.field, reason } });
    return item;
  }

  /**
   * Opens the change request that declares an unmanaged host as a Host asset from its latest
   * report. `E_OBSERVATION_NOT_FOUND` (404) when it never reported, `E_ALREADY_DECLARED` (409) when
   * main has the Host already.
   */
  async declare(actor: Actor, host: string, input: { name?: string; labels?: Record<string, string> }): Promise<ChangeView> {
    const observation = this.#d.drift.observation(host);
    if (!observation) throw new NotFoundError('E_OBSERVATION_NOT_FOUND', `no report from host '${host}' was applied`, { host });
    const head = await this.#d.store.head();
    if (!head) throw new EstateError('E_NOT_READY', 'the server is still reading the estate repository; retry in a moment', {});
    const name = input.name ?? host;
    const asset = `host/${name}`;
    if ((await this.#d.changes.estateAt(head.sha)).assets.has(asset)) throw new ConflictError('E_ALREADY_DECLARED', `main declares ${asset} already`, { asset });
    const document = declareObservedHost(host, observation.facts, input);
    const fields = Object.keys(document['spec'] as Record<string, unknown>);
    const description = [
      `Declares the host ${host} from its report ${observation.reportId}: ${fields.join(', ')}.`,
      'Packages, files and services are left for people to declare.',
      ...(name === host ? [] : [`Drift is compared by name: reports of '${host}' stay unmanaged until a Host is named '${host}'.`]),
    ].join('\n');
    const change = (await this.#d.changes.create(actor, { title: `drift: declare ${asset}`, description, base: head.sha, operations: [{ op: 'put', asset: document }] })) as ChangeView;
    this.#d.audit.append({ actor: actor.user, event: 'drift.declared', subject: asset, details: { change: change.id, host, fields } });
    return change;
  }
}

/** A CR description of an adoption: the fields adopted and skipped (values stay in the diff). */
function describeAdoption(plan: PlannedAdoption): string {
  const lines = [`Adopts the values ${plan.asset} reported${plan.reportId ? ` (report ${plan.reportId})` : ''} for:`, ...plan.adopted.map((field) => `- ${field}`)];
  if (plan.skipped.length > 0) lines.push('', 'Not adopted:', ...plan.skipped.map((s) => `- ${s.field}: ${s.reason}`));
  return lines.join('\n');
}

/** `/spec/files/<path>` or its content, mode or owner. */
function isFileField(field: string): boolean {
  let segments: string[];
  try {
    segments = parsePointer(field);
  } catch {
    return false;
  }
  return segments[0] === 'spec' && segments[1] === 'files' && segments[2] !== undefined && segments[2].startsWith('/') && (segments.length === 3 || (segments.length === 4 && ['content', 'mode', 'owner'].includes(segments[3]!)));
}
