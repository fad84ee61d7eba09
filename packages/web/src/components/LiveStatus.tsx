import type { ReactElement } from 'react';
import type { LiveStatus as Status } from '../useLiveEvents';

/** The state of the page's live updates in one line: `Live: <what>`, connecting, or off. */
export function LiveStatus({ status, what }: { status: Status; what: string }): ReactElement {
  return (
    <p className="live muted" role="status" aria-live="polite">
      {status === 'live' ? `Live: ${what}` : status === 'connecting' ? 'Connecting to live updates…' : 'Live updates are off; reload to see changes'}
    </p>
  );
}
