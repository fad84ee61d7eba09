import { useEffect, useState } from 'react';

/** The state of a load: the last answer, the failure, and whether a newer one is on its way. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/**
 * Runs `load` whenever `key` changes and keeps its latest answer. Answers to an older key that
 * arrive late are dropped (typing fast must not show the results of an earlier query); the
 * previous data stays shown while the next loads.
 */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T> & { key?: string }>({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false, key }),
      (error: unknown) => current && setState((previous) => ({ data: previous.data, error, loading: false, key })),
    );
    return () => {
      current = false;
    };
    // `load` is a new closure each render; `key` says when it asks something else.
  }, [key]);
  return state;
}
