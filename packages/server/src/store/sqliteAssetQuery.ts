import type { LabelRequirement } from '@estate/core';
import { VERSION_COLUMNS } from './sqliteRows.js';
import type { AssetQuery } from './Store.js';

/** One SQL statement for a listAssets query: `key` names its shape (the statement cache's key). */
export interface AssetQueryPlan {
  key: string;
  sql: string;
  params: Record<string, string | number>;
}

/**
 * Plans `listAssets` as one statement that walks an index in asset_id order and stops after
 * `limit` rows, so a page costs about (rows looked at) rather than (rows that match).
 *
 * The walk is driven by one index, chosen by a fixed preference that guesses selectivity without
 * statistics: owner (head only), a label `key=value`, kind (head only), a label `key in (…)`, a label
 * `key` (exists), else every asset. The first two and the kind walk are in id order already; the
 * multi-value and exists walks read every matching label entry and sort them (SQLite keeps only
 * the top `limit` rows). Every other filter is a check of the candidate row: kind and owner on the
 * row, terms with `instr` on the search text, each remaining label requirement as a primary-key
 * seek in asset_labels (vid, key). Nothing is filtered in JS, so rows that fail are never decoded.
 *
 * At the head (`atHead`) the walks use the partial indexes `WHERE valid_to IS NULL`; in the past
 * they use the full indexes with the validity interval, and kind/owner become row checks.
 */
export function planAssetQuery(query: AssetQuery, atHead: boolean): AssetQueryPlan {
  const params: Record<string, string | number> = { after: query.after ?? '', limit: query.limit };
  if (!atHead) params.seq = query.seq;
  const shape: string[] = [atHead ? 'head' : 'past'];
  const where: string[] = [];
  const requirements = [...(query.selector ?? [])];
  let useKind = query.kind !== undefined;
  let useOwner = query.owner !== undefined;

  const eqLabel = chooseLabelDriver(requirements, 'eq');
  const anyLabel = chooseLabelDriver(requirements, 'any');
  let from: string;
  let order = 'av.asset_id';
  if (atHead && useOwner) {
    shape.push('owner');
    from = 'asset_versions AS av INDEXED BY av_current_owner';
    where.push('av.owner = @owner', 'av.valid_to IS NULL', 'av.asset_id > @after');
    params.owner = query.owner!;
    useOwner = false;
  } else if (eqLabel >= 0 || (anyLabel >= 0 && !(atHead && useKind))) {
    const driver = requirements.splice(eqLabel >= 0 ? eqLabel : anyLabel, 1)[0]!;
    from = `asset_labels AS l INDEXED BY ${atHead ? 'labels_current' : 'labels_all'} CROSS JOIN asset_versions AS av ON av.vid = l.vid`;
    where.push('l.key = @dkey');
    params.dkey = driver.key;
    if (driver.op === 'in' && driver.values.length === 1) {
      shape.push('label=');
      where.push('l.value = @dvalue');
      params.dvalue = driver.values[0]!;
    } else if (driver.op === 'in') {
      shape.push('label-in');
      where.push('l.value IN (SELECT value FROM json_each(@dvalue))');
      params.dvalue = JSON.stringify(driver.values);
    } else {
      shape.push('label-exists');
    }
    where.push(atHead ? 'l.valid_to IS NULL' : 'l.valid_from <= @seq AND (l.valid_to IS NULL OR l.valid_to > @seq)', 'l.asset_id > @after');
    order = 'l.asset_id';
  } else if (atHead && useKind) {
    shape.push('kind');
    from = 'asset_versions AS av INDEXED BY av_current_kind';
    where.push('av.kind = @kind', 'av.valid_to IS NULL', 'av.asset_id > @after');
    params.kind = query.kind!;
    useKind = false;
  } else {
    shape.push('scan');
    from = `asset_versions AS av INDEXED BY ${atHead ? 'av_current' : 'av_asset_from'}`;
    where.push(atHead ? 'av.valid_to IS NULL' : 'av.valid_from <= @seq AND (av.valid_to IS NULL OR av.valid_to > @seq)', 'av.asset_id > @after');
  }

  if (useKind) {
    shape.push('+kind');
    where.push('av.kind = @kind');
    params.kind = query.kind!;
  }
  if (useOwner) {
    shape.push('+owner');
    where.push('av.owner = @owner');
    params.owner = query.owner!;
  }
  (query.terms ?? []).forEach((term, i) => {
    shape.push('+term');
    where.push(`instr(av.search_text, @t${i}) > 0`);
    params[`t${i}`] = term;
  });
  requirements.forEach((requirement, i) => {
    const { condition, form } = requirementCondition(requirement, i, params);
    shape.push(`+${form}`);
    where.push(condition);
  });

  const sql = `SELECT ${VERSION_COLUMNS} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT @limit`;
  return { key: shape.join(' '), sql, params };
}

/**
 * Index of the label requirement to walk: `eq` accepts only `key=value` (in id order through the
 * index), `any` also `key in (…)` and `exists`, preferring the former. -1 when there is none.
 */
function chooseLabelDriver(requirements: readonly LabelRequirement[], accept: 'eq' | 'any'): number {
  const eq = requirements.findIndex((r) => r.op === 'in' && r.values.length === 1);
  if (eq >= 0 || accept === 'eq') return eq;
  const set = requirements.findIndex((r) => r.op === 'in');
  return set >= 0 ? set : requirements.findIndex((r) => r.op === 'exists');
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
