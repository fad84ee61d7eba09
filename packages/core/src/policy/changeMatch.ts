import { matchesSelector, parseLabelSelector, type LabelSelector } from '../labelSelector.js';
import { matchesPathGlob, matchesPointerGlob } from './globs.js';
import type { AssetSide, ChangedItem, ChangeFacts, ChangeMatch } from './types.js';

const selectors = new Map<string, LabelSelector>();

/** A parsed label selector, cached (throws InputError E_SELECTOR for a bad one, as loading reports). */
export function selectorOf(text: string): LabelSelector {
  let selector = selectors.get(text);
  if (!selector) {
    selector = parseLabelSelector(text);
    if (selectors.size >= 2000) selectors.clear();
    selectors.set(text, selector);
  }
  return selector;
}

/** The paths an item touches: its path, and the old one of a move. */
export function itemPaths(item: ChangedItem): string[] {
  return item.oldPath !== undefined && item.oldPath !== item.path ? [item.path, item.oldPath] : [item.path];
}

/** The sides of a changed asset that exist: before (unless added) and after (unless deleted). */
export function assetSides(item: ChangedItem): AssetSide[] {
  const sides: AssetSide[] = [];
  if (item.asset?.before) sides.push(item.asset.before);
  if (item.asset?.after) sides.push(item.asset.after);
  return sides;
}

/**
 * The changed field pointers of an asset item. An asset added or deleted as a whole changed the
 * whole document, written as the root pointer `""` (only `/**` matches it), besides any fields given.
 */
export function changedFields(item: ChangedItem): string[] {
  const asset = item.asset;
  if (!asset) return [];
  return asset.before && asset.after ? asset.fields : ['', ...asset.fields];
}

/** True when the match has criteria on items (not only on the author). */
export function hasItemCriteria(match: ChangeMatch): boolean {
  return match.kinds !== undefined || match.selector !== undefined || match.owners !== undefined || match.paths !== undefined || match.fields !== undefined;
}

/**
 * True when a rule's match selects the change: the author criteria hold, and, if there are item
 * criteria, at least one item meets all of them. `{}` selects every change, even an empty one.
 */
export function matchesChange(match: ChangeMatch, change: ChangeFacts): boolean {
  if (match.authors && !match.authors.includes(change.author.user)) return false;
  if (match.authorGroups && !change.author.groups.some((g) => match.authorGroups!.includes(g))) return false;
  if (match.exceptAuthors?.includes(change.author.user)) return false;
  if (match.exceptAuthorGroups && change.author.groups.some((g) => match.exceptAuthorGroups!.includes(g))) return false;
  if (!hasItemCriteria(match)) return true;
  return change.items.some((item) => matchesItem(match, item));
}

/**
 * True when one changed item meets every item criterion of the match. A file that is not an asset
 * has only a path, so it can meet `paths` and nothing else.
 */
export function matchesItem(match: ChangeMatch, item: ChangedItem): boolean {
  const asset = item.asset;
  if (match.kinds && !(asset && match.kinds.includes(asset.kind))) return false;
  if (match.selector !== undefined) {
    const selector = selectorOf(match.selector);
    if (!assetSides(item).some((side) => matchesSelector(selector, side.labels))) return false;
  }
  if (match.owners && !assetSides(item).some((side) => side.owner !== undefined && match.owners!.includes(side.owner))) return false;
  if (match.paths && !itemPaths(item).some((path) => match.paths!.some((glob) => matchesPathGlob(glob, path)))) return false;
  if (match.fields && !changedFields(item).some((field) => match.fields!.some((glob) => matchesPointerGlob(glob, field)))) return false;
  return true;
}
