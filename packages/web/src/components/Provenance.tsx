import type { Provenance } from '@estate/client';
import type { ReactElement } from 'react';
import { Link } from '../router';

type HowItGotThere = Omit<Provenance, 'sha' | 'seq' | 'subject' | 'author' | 'committedAt'>;

/** How a commit reached main, in one line: its change request (a link), author and approvers, or why there is none. */
export function ProvenanceLine({ provenance }: { provenance: HowItGotThere }): ReactElement {
  const change = provenance.change;
  if (!change) {
    return <span className={provenance.status === 'unreviewed' ? 'error' : 'muted'}>{provenance.status === 'unreviewed' ? 'No change request: pushed to main directly' : 'Before change requests governed main'}</span>;
  }
  return (
    <span>
      {provenance.status === 'emergency' && <strong className="badge danger">emergency</strong>} <Link to={`/changes/${change.id}`}>Change request #{change.id}</Link> by {change.author}
      {change.approvedBy.length > 0 ? `, approved by ${change.approvedBy.join(', ')}` : ', no approvals'}
      {change.mergedBy ? `, merged by ${change.mergedBy}` : ''}
      {change.emergency ? ` (emergency: ${change.emergency.reason})` : ''}
    </span>
  );
}
