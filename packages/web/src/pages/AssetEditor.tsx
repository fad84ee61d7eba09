import type { AssetDocument, ChangeChecks, ChangeOperation, EstateClient, Kind } from '@estate/client';
import { useEffect, useMemo, useState, type FormEvent, type ReactElement } from 'react';
import { describeError } from '../api';
import { roleAtLeast } from '../changeState';
import { ChangeDiff, ChecksList } from '../components/ChangeChecks';
import { SchemaField, SchemaFormProvider } from '../components/SchemaForm';
import { useIdentity } from '../identity';
import { assetPath, Link, navigate } from '../router';
import { isRecord, mergePatch, METADATA_SCHEMA, validateValue, withoutUnset, type Schema } from '../schemaForm';
import { useLoad } from '../useLoad';

/** The part of an asset document the form edits. */
interface Draft {
  metadata: Record<string, unknown>;
  spec: unknown;
}

/** Edits an existing asset: the form from its kind's schema, a dry run, then a change request with a patch. */
export function EditAssetPage({ client, id }: { client: EstateClient; id: string }): ReactElement {
  const asset = useLoad(`asset ${id}`, () => client.getAsset(id));
  const kinds = useLoad('kinds', () => client.kinds());
  useEffect(() => {
    document.title = `Edit ${id} · Estate`;
  }, [id]);
  const error = asset.error ?? kinds.error;
  if (error !== undefined) return <Failed title={`Edit ${id}`} error={error} />;
  const current = asset.data?.asset.id === id ? asset.data.asset : undefined;
  if (!current || !kinds.data) return <p role="status">Loading {id}…</p>;
  const kind = kinds.data.items.find((k) => k.name === current.kind);
  return <AssetForm key={id} client={client} kind={kind} original={current.document} id={current.id} />;
}

/** A new asset: pick a kind (`/new`), then an empty form of it (`/new?kind=Host`) that opens a change request with a put. */
export function NewAssetPage({ client, search }: { client: EstateClient; search: string }): ReactElement {
  const kindName = new URLSearchParams(search).get('kind') ?? '';
  const kinds = useLoad('kinds', () => client.kinds());
  useEffect(() => {
    document.title = kindName ? `New ${kindName} · Estate` : 'New asset · Estate';
  }, [kindName]);
  if (kinds.error !== undefined) return <Failed title="New asset" error={kinds.error} />;
  if (!kinds.data) return <p role="status">Loading kinds…</p>;
  const kind = kinds.data.items.find((k) => k.name === kindName);
  if (!kind) {
    return (
      <>
        <h1>New asset</h1>
        {kindName && (
          <p className="error" role="alert">
            There is no kind {kindName}.
          </p>
        )}
        <nav aria-label="Kinds">
          <p>Which kind of asset?</p>
          <ul className="kind-picker">
            {kinds.data.items.map((k) => (
              <li key={k.name}>
                <Link to={`/new?kind=${encodeURIComponent(k.name)}`}>{k.name}</Link>
                {k.description && <span className="muted"> — {k.description}</span>}
              </li>
            ))}
          </ul>
        </nav>
      </>
    );
  }
  const empty: AssetDocument = { apiVersion: 'estate/v1', kind: kind.name, metadata: { name: '' }, spec: {} };
  return <AssetForm key={kind.name} client={client} kind={kind} original={empty} />;
}

function Failed({ title, error }: { title: string; error: unknown }): ReactElement {
  return (
    <>
      <h1>{title}</h1>
      <p className="error" role="alert">
        {describeError(error)}
      </p>
      <p>
        <Link to="/">Browse assets</Link>
      </p>
    </>
  );
}

/** The result of the last server check, for the content it was run on. */
interface DryRun {
  content: string;
  checks?: ChangeChecks;
}

/**
 * The form of one asset (existing when `id` is given, else new): metadata and spec fields from the
 * schemas, messages as you type, a dry run of the would-be change request, then the change request.
 */
function AssetForm({ client, kind, original, id }: { client: EstateClient; kind: Kind | undefined; original: AssetDocument; id?: string }): ReactElement {
  const identity = useIdentity();
  const specSchema: Schema = kind && isRecord(kind['specSchema']) ? kind['specSchema'] : {};
  const [draft, setDraft] = useState<Draft>(() => ({ metadata: { ...original.metadata }, spec: structuredClone(original.spec) }));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [attempted, setAttempted] = useState(false);
  const [localErrors, setLocalErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [title, setTitle] = useState(id ? `Edit ${id}` : '');
  const [description, setDescription] = useState('');
  const [dryRun, setDryRun] = useState<DryRun | undefined>();
  const [busy, setBusy] = useState<'check' | 'submit' | undefined>();
  const [failure, setFailure] = useState<unknown>();

  const errors = useMemo(() => {
    const found = validateValue(METADATA_SCHEMA, draft.metadata, '/metadata');
    return validateValue({ type: 'object', ...specSchema }, draft.spec, '/spec', found);
  }, [draft, specSchema]);
  const name = typeof draft.metadata['name'] === 'string' ? draft.metadata['name'] : '';
  const defaultTitle = id ? `Edit ${id}` : `New ${kind?.name ?? 'asset'} ${name}`.trim();
  const operation = useMemo((): ChangeOperation | undefined => {
    const edited = withoutUnset({ apiVersion: original.apiVersion, kind: original.kind, metadata: draft.metadata, spec: draft.spec ?? {} });
    if (!id) return { op: 'put', asset: edited };
    const patch = mergePatch(withoutUnset(original), edited);
    return isRecord(patch) ? { op: 'patch', id, patch } : undefined;
  }, [draft, id, original]);
  const content = JSON.stringify(operation ?? null);
  const checked = dryRun?.content === content ? dryRun : undefined;
  const blocked = errors.size > 0 || localErrors.size > 0;

  const form = {
    client,
    errors,
    shows: (pointer: string) => attempted || [...touched].some((at) => pointer === at || pointer.startsWith(`${at}/`) || at.startsWith(`${pointer}/`)),
    touch: (pointer: string) => setTouched((previous) => (previous.has(pointer) ? previous : new Set([...previous, pointer]))),
    setLocalError: (pointer: string, message: string | undefined) =>
      setLocalErrors((previous) => {
        if (previous.get(pointer) === message) return previous;
        const next = new Map(previous);
        if (message === undefined) next.delete(pointer);
        else next.set(pointer, message);
        return next;
      }),
    localErrors,
    locked: new Set(id ? ['/metadata/name'] : []),
  };

  if (!identity || !roleAtLeast(identity.role, 'editor')) {
    return (
      <>
        <h1>{id ? `Edit ${id}` : 'New asset'}</h1>
        <p role="alert">Editing needs the role editor; you are signed in as {identity?.role ?? 'nobody'}.</p>
      </>
    );
  }

  const input = () => ({ title: title.trim() || defaultTitle, ...(description.trim() ? { description: description.trim() } : {}), operations: operation ? [operation] : [] });
  const check = async (): Promise<void> => {
    setAttempted(true);
    if (blocked || !operation) return;
    setBusy('check');
    setFailure(undefined);
    try {
      const answer = await client.createChange({ ...input(), dryRun: true });
      setDryRun({ content, ...(answer.checks ? { checks: answer.checks } : {}) });
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!checked) return void check();
    setBusy('submit');
    setFailure(undefined);
    try {
      const change = await client.createChange(input());
      navigate(`/changes/${change.id}`);
    } catch (error) {
      setFailure(error);
      setBusy(undefined);
    }
  };

  return (
    <>
      <p>
        <Link to="/">Assets</Link>
        {id && (
          <>
            {' '}
            / <Link to={assetPath(id)}>{id}</Link>
          </>
        )}
      </p>
      <h1>{id ? `Edit ${id}` : `New ${kind?.name ?? 'asset'}`}</h1>
      {!kind && <p className="error">The kind {original.kind} has no schema here; the spec is edited as YAML.</p>}
      <form className="asset-form" onSubmit={submit} noValidate>
        <SchemaFormProvider value={form}>
          <SchemaField schema={METADATA_SCHEMA} value={draft.metadata} onChange={(next) => setDraft((d) => ({ ...d, metadata: isRecord(next) ? next : {} }))} pointer="/metadata" label="metadata" required />
          <SchemaField schema={{ type: 'object', ...specSchema }} value={draft.spec} onChange={(next) => setDraft((d) => ({ ...d, spec: next }))} pointer="/spec" label="spec" required />
        </SchemaFormProvider>
        <fieldset className="object-field">
          <legend>Change request</legend>
          <div className="field">
            <label htmlFor="cr-title">Title</label>
            <input id="cr-title" type="text" value={title} placeholder={defaultTitle} onChange={(event) => setTitle(event.target.value)} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="cr-description">Description</label>
            <textarea id="cr-description" rows={3} value={description} onChange={(event) => setDescription(event.target.value)} />
          </div>
        </fieldset>
        <div className="form-actions">
          <button type="button" onClick={check} disabled={busy !== undefined}>
            {busy === 'check' ? 'Checking…' : 'Check'}
          </button>
          <button type="submit" className="primary" disabled={busy !== undefined || !checked || blocked}>
            {busy === 'submit' ? 'Opening…' : 'Open change request'}
          </button>
          <span className="muted" role="status">
            {blocked && attempted ? 'Fix the fields marked above first.' : !operation ? 'Nothing changed yet.' : checked ? (checked.checks?.status === 'failed' ? 'Checked: the checks fail (below); it can still be opened and fixed by later edits.' : 'Checked: the checks pass.') : 'Check runs the server’s checks on the would-be change; then it can be opened.'}
          </span>
        </div>
      </form>
      {failure !== undefined && (
        <p className="error" role="alert">
          {describeError(failure)}
        </p>
      )}
      {checked && (
        <section aria-labelledby="dry-run-title" className="dry-run">
          <h2 id="dry-run-title">Check result: {checked.checks?.status ?? 'no checks'}</h2>
          {checked.checks && (
            <>
              <ChecksList checks={checked.checks} />
              <h3>What it changes</h3>
              <ChangeDiff diff={checked.checks.diff.main} label="Would change" />
            </>
          )}
        </section>
      )}
    </>
  );
}
