import { createElement, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactElement } from 'react';

/** The part of the address the UI routes on. */
export interface Place {
  pathname: string;
  search: string;
}

const listeners = new Set<() => void>();
let current: Place = read();

function read(): Place {
  return { pathname: window.location.pathname, search: window.location.search };
}

function changed(): void {
  current = read();
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', changed);

/** Goes to `to` (path and query) without a reload; `replace` keeps history from growing while typing. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  changed();
}

/** The current path and query; re-renders on navigation and on the browser's back and forward. */
export function usePlace(): Place {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}

/** A link that navigates in the page; modified clicks (new tab, …) stay the browser's. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }): ReactElement {
  const { to, onClick, ...rest } = props;
  const follow = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return createElement('a', { ...rest, href: to, onClick: follow });
}

/** The UI's address of an asset page. */
export function assetPath(id: string): string {
  const [kind, name] = splitId(id);
  return `/assets/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
}

/** `host/web-01` → `['host', 'web-01']`. */
export function splitId(id: string): [string, string] {
  const slash = id.indexOf('/');
  return slash < 0 ? [id, ''] : [id.slice(0, slash), id.slice(slash + 1)];
}
