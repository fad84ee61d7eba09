import type { LabelRequirement } from '@estate/core';
import { versionColumns } from './sqliteRows.js';
import type { AssetQuery } from './Store.js';

/** One SQL statement for a listAssets query: `key` names its shape (the statement cache's key). */
export interface AssetQueryPlan {
  key: string;
  sql: string;
  params: Record<string, string | number>;
}

/** What the planner may ask the database before choosing (kept out so that planning is pure). */
export interface AssetQueryHints {
  /** True when `query.seq` is the head (or later): the walks use the partial current indexes. */
  atHead: boolean;
  /**
   * The versions whose search text may contain one of the terms, from the trigram index, when they
   * are few enough to sort ({@link MAX_TERM_CANDIDATES}); undefined otherwise.
   */
  termCandidates?: number[];
  /**
   * The values a label key has (at the head, or ever for the past), when there are at most
   * {@link MAX_MERGED_VALUES}; undefined when there are more.
   */
  labelValues(key: string): string[] | undefined;
  /**
   * About how many rows an indexed walk would read (a count capped at {@link ESTIMATE_CAP} per
   * value), to choose between several: asked only when there are two or more.
   */
  estimate(walk: IndexedWalk): number;
}

/**
 * A walk through an index in asset_id order: owner, kind, or a label key with one value
 * (`env=prod`) or a few (`role in (web,app)`: one walk per value, merged).
 */
export type IndexedWalk = { on: 'owner' | 'kind'; value: string } | { on: 'label'; key: string; values: readonly string[] };

/**
 * Estimates of walks count at most this many rows per value: enough to tell apart the walks of
 * an estate of 100k assets (kind=Host 60k, env=prod 90k, role in (web,app,db) 35k), cheap to count
 * once (about 2 ms); the store keeps estimates for a while.
 */
export const ESTIMATE_CAP = 50_000;

/** Label values walked side by side and merged in id order; beyond, the matches are sorted. */
export const MAX_MERGED_VALUES = 32;
/** Candidates from the trigram index that are sorted rather than walked in id order. */
export const MAX_TERM_CANDIDATES = 2000;

/**
 * Plans `listAssets` as one statement that produces rows in asset_id order and stops after `limit`,
 * so a page costs about the rows looked at, not all the rows that match.
 *
 * The rows come from one driver:
 * 1. the few versions the trigram index names for a term (sorted: at most {@link MAX_TERM_CANDIDATES});
 * 2. else an index walked in id order: owner (index on (owner, asset_id)), a label `key=value`
 *    (index on (key, value, asset_id)), kind (index on (kind, asset_id)), or a label
 *    `key in (…)` of at most {@link MAX_MERGED_VALUES} values (one walk per value, merged by
 *    SQLite's compound `UNION ALL … ORDER BY`); when several apply, the one with the fewest
 *    entries ({@link AssetQueryHints.estimate}), so that `env=prod,role=web` walks the rarer of
 *    the two, and `kind=Host,role in (web,db)` the roles when they are rarer than hosts;
 * 3. else a label `key in (…)` or `key` (exists): merged walks as above (exists first lists the
 *    key's values); with too many values, every match is read and sorted;
 * 4. else every asset, in id order.
 * Every other filter checks the candidate row in SQL: kind and owner on the row, terms with `instr`
 * on the search text, each remaining label requirement as a primary-key seek in asset_labels
 * (vid, key). Nothing is filtered in JS, so rows that fail are never decoded.
 *
 * At the head the walks use the partial indexes `WHERE valid_to IS NULL`; in the past they use the
 * full indexes, which hold every version, and check the validity interval.
 *
 * With `count`, the same walk and checks count every match (limit and order dropped), grouped
 * by kind and owner: rows `(kind, owner, n)`, read from the index and the row, never decoded.
 */
export function planAssetQuery(query: AssetQuery, hints: AssetQueryHints, count = false): AssetQueryPlan {
  const { atHead } = hints;
  const params: Record<string, string | number> = { after: query.after ?? '', ...(count ? {} : { limit: query.limit }) };
  if (!atHead) params.seq = query.seq;
  const shape: string[] = [atHead ? 'head' : 'past'];
  const requirements = [...(query.selector ?? [])];
  let useKind = query.kind !== undefined;
  let useOwner = query.owner !== undefined;

  /** A walk: what it reads, its own conditions, and the column it is ordered by. */
  let walk: { from: string; where: string[]; id: string; arms?: number };
  const labelWalk = (value: string | undefined): { from: string; where: string[]; id: string } => ({
    from: `asset_labels AS l INDEXED BY ${atHead ? 'labels_current' : 'labels_all'} CROSS JOIN asset_versions AS av ON av.vid = l.vid`,
    where: [
      'l.key = @dkey',
      ...(value === undefined ? [] : [value]),
      atHead ? 'l.valid_to IS NULL' : 'l.valid_from <= @seq AND (l.valid_to IS NULL OR l.valid_to > @seq)',
      'l.asset_id > @after',
    ],
    id: 'l.asset_id',
  });
  const validAv = atHead ? 'av.valid_to IS NULL' : 'av.valid_from <= @seq AND (av.valid_to IS NULL OR av.valid_to > @seq)';

  const indexed: (IndexedWalk & { requirement?: LabelRequirement })[] = [];
  if (useOwner) indexed.push({ on: 'owner', value: query.owner! });
  for (const r of requirements) if (r.op === 'in' && r.values.length === 1) indexed.push({ on: 'label', key: r.key, values: r.values, requirement: r });
  if (useKind) indexed.push({ on: 'kind', value: query.kind! });
  // Sets last: on a tie (every estimate at the cap), a single index walk is the simpler plan.
  for (const r of requirements) {
    if (r.op === 'in' && r.values.length > 1 && r.values.length <= MAX_MERGED_VALUES) indexed.push({ on: 'label', key: r.key, values: r.values, requirement: r });
  }
  let chosen = indexed[0];
  if (hints.termCandidates === undefined && indexed.length > 1) {
    let fewest = Infinity;
    for (const candidate of indexed) {
      const estimate = hints.estimate(candidate);
      if (estimate < fewest) [chosen, fewest] = [candidate, estimate];
    }
  }
  const setLabel = requirements.findIndex((r) => r.op === 'in' || r.op === 'exists');
  const mergeWalk = (values: readonly string[]): typeof walk => {
    // An empty list matches nothing: one arm with a value no label has (values are never NULL).
    shape.push(`label-merge${values.length}`);
    values.forEach((value, i) => (params[`dv${i}`] = value));
    return { ...labelWalk(values.length === 0 ? 'l.value IS NULL' : 'l.value = @dv0'), arms: Math.max(1, values.length) };
  };

  if (hints.termCandidates !== undefined) {
    shape.push('terms');
    params.candidates = JSON.stringify(hints.termCandidates);
    walk = {
      from: 'asset_versions AS av',
      where: ['av.vid IN (SELECT value FROM json_each(@candidates))', validAv, 'av.asset_id > @after'],
      id: 'av.asset_id',
    };
  } else if (chosen?.on === 'owner') {
    shape.push('owner');
    walk = { from: `asset_versions AS av INDEXED BY ${atHead ? 'av_current_owner' : 'av_owner'}`, where: ['av.owner = @owner', validAv, 'av.asset_id > @after'], id: 'av.asset_id' };
    params.owner = query.owner!;
    useOwner = false;
  } else if (chosen?.on === 'label') {
    requirements.splice(requirements.indexOf(chosen.requirement!), 1);
    params.dkey = chosen.key;
    if (chosen.values.length === 1) {
      shape.push('label=');
      params.dvalue = chosen.values[0]!;
      walk = labelWalk('l.value = @dvalue');
    } else {
      walk = mergeWalk(chosen.values);
    }
  } else if (chosen?.on === 'kind') {
    shape.push('kind');
    walk = { from: `asset_versions AS av INDEXED BY ${atHead ? 'av_current_kind' : 'av_kind'}`, where: ['av.kind = @kind', validAv, 'av.asset_id > @after'], id: 'av.asset_id' };
    params.kind = query.kind!;
    useKind = false;
  } else if (setLabel >= 0) {
    const driver = requirements.splice(setLabel, 1)[0]!;
    params.dkey = driver.key;
    const values = driver.op === 'in' ? driver.values : hints.labelValues(driver.key);
    if (values !== undefined && values.length <= MAX_MERGED_VALUES) {
      walk = mergeWalk(values);
    } else if (driver.op === 'in') {
      shape.push('label-in-sorted');
      params.dvalue = JSON.stringify(driver.values);
      walk = labelWalk('l.value IN (SELECT value FROM json_each(@dvalue))');
    } else {
      shape.push('label-exists-sorted');
      walk = labelWalk(undefined);
    }
  } else {
    shape.push('scan');
    walk = { from: `asset_versions AS av INDEXED BY ${atHead ? 'av_current' : 'av_asset_from'}`, where: [validAv, 'av.asset_id > @after'], id: 'av.asset_id' };
  }

  const checks: string[] = [];
  if (useKind) {
    shape.push('+kind');
    checks.push('av.kind = @kind');
    params.kind = query.kind!;
  }
  if (useOwner) {
    shape.push('+owner');
    checks.push('av.owner = @owner');
    params.owner = query.owner!;
  }
  (query.terms ?? []).forEach((term, i) => {
    shape.push('+term');
    checks.push(`instr(av.search_text, @t${i}) > 0`);
    params[`t${i}`] = term;
  });
  requirements.forEach((requirement, i) => {
    const { condition, form } = requirementCondition(requirement, i, params);
    shape.push(`+${form}`);
    checks.push(condition);
  });

  const columns = count ? 'av.kind, av.owner' : versionColumns(walk.id);
  const select = (where: string[]): string => `SELECT ${columns} FROM ${walk.from} WHERE ${[...where, ...checks].join(' AND ')}`;
  let sql: string;
  if (count) {
    const arms = Array.from({ length: walk.arms ?? 1 }, (_, i) => select(walk.where.map((w) => w.replace('@dv0', `@dv${i}`))));
    sql = `SELECT kind, owner, count(*) AS n FROM (${arms.join(' UNION ALL ')}) GROUP BY kind, owner`;
  } else if (walk.arms !== undefined) {
    // Each arm is in id order through the index; `ORDER BY 2` (asset_id) makes SQLite merge them.
    const arms = Array.from({ length: walk.arms }, (_, i) => select(walk.where.map((w) => w.replace('@dv0', `@dv${i}`))));
    sql = `${arms.join(' UNION ALL ')} ORDER BY 2 LIMIT @limit`;
  } else {
    sql = `${select(walk.where)} ORDER BY ${walk.id} LIMIT @limit`;
  }
  if (count) shape.push('count');
  return { key: shape.join(' '), sql, params };
}

/** A label requirement checked on the candidate version by a seek in asset_labels (vid, key). */
function requirementCondition(
  requirement: LabelRequirement,
  i: number,
  params: Record<string, string | number>,
): { condition: string; form: string } {
  params[`k${i}`] = requirement.key;
  let probe = `SELECT 1 FROM asset_labels AS x WHERE x.vid = av.vid AND x.key = @k${i}`;
  let form: string = requirement.op;
  if (requirement.op === 'in' || requirement.op === 'notin') {
    if (requirement.values.length === 1) {
      probe += ` AND x.value = @v${i}`;
      params[`v${i}`] = requirement.values[0]!;
      form += '1';
    } else {
      probe += ` AND x.value IN (SELECT value FROM json_each(@v${i}))`;
      params[`v${i}`] = JSON.stringify(requirement.values);
    }
  }
  const negated = requirement.op === 'notin' || requirement.op === 'notexists';
  return { condition: `${negated ? 'NOT ' : ''}EXISTS (${probe})`, form };
}
