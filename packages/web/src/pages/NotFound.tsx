import type { ReactElement } from 'react';
import { Link } from '../router';

/** An address the UI has no page for. */
export function NotFound(): ReactElement {
  return (
    <>
      <h1>No such page</h1>
      <p>
        The UI has no page at this address. <Link to="/">Browse the estate</Link>.
      </p>
    </>
  );
}
