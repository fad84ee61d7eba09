import type { EstateClient } from '@estate/client';
import { createContext, useContext, useEffect, useId, useRef, useState, type ReactElement, type ReactNode } from 'react';
import { childPointer, emptyValue, fieldShape, isRecord, isScalarShape, refKinds, subSchema, type FieldErrors, type Schema } from '../schemaForm';
import { readYaml } from '../yamlRead';
import { toYamlLines, yamlText } from '../yamlTokens';

/** What every field of one form shares. */
export interface FormContextValue {
  client: EstateClient;
  /** Problems of the current value by pointer (from {@link validateValue}). */
  errors: FieldErrors;
  /** Whether problems of a field are shown (touched, or the user tried to check the form). */
  shows(pointer: string): boolean;
  /** A field was edited. */
  touch(pointer: string): void;
  /** Problems only a field itself knows (YAML that does not parse, a map key twice); undefined clears. */
  setLocalError(pointer: string, message: string | undefined): void;
  localErrors: ReadonlyMap<string, string>;
  /** Fields shown but not editable (metadata.name of an existing asset). */
  locked: ReadonlySet<string>;
}

const FormContext = createContext<FormContextValue | undefined>(undefined);

/** Provides the shared state to the fields of one form. */
export function SchemaFormProvider({ value, children }: { value: FormContextValue; children: ReactNode }): ReactElement {
  return <FormContext.Provider value={value}>{children}</FormContext.Provider>;
}

function useForm(): FormContextValue {
  const form = useContext(FormContext);
  if (!form) throw new Error('a schema field outside SchemaFormProvider');
  return form;
}

/** A stable, valid element id for a pointer. */
function fieldId(pointer: string): string {
  return `field${pointer.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
}

/** The messages for a field (its own, and those of parts it shows itself, like a YAML area's). */
function messagesFor(form: FormContextValue, pointer: string, deep: boolean): string[] {
  const messages: string[] = [];
  const local = form.localErrors.get(pointer);
  if (local) messages.push(local);
  if (!form.shows(pointer)) return messages;
  for (const [at, list] of form.errors) {
    if (at === pointer) messages.push(...list);
    else if (deep && at.startsWith(`${pointer}/`)) messages.push(...list.map((message) => `${at.slice(pointer.length + 1).replace(/~1/g, '/').replace(/~0/g, '~')}: ${message}`));
  }
  return messages;
}

function FieldMessages({ id, messages }: { id: string; messages: string[] }): ReactElement | null {
  if (messages.length === 0) return null;
  return (
    <ul className="field-errors" id={`${id}-errors`}>
      {messages.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

/** Props of every field: its schema and value, where it sits, and how it reports a new value. */
export interface FieldProps {
  schema: Schema;
  value: unknown;
  onChange: (value: unknown) => void;
  pointer: string;
  label: string;
  required: boolean;
  /** An array item or map value: required, but not marked so (it exists because it was added). */
  item?: boolean;
}

/** One field of the form, shown as its schema says (see {@link fieldShape}). */
export function SchemaField(props: FieldProps): ReactElement {
  const shape = fieldShape(props.schema);
  switch (shape) {
    case 'object':
      return <ObjectField {...props} />;
    case 'map':
      return <MapField {...props} />;
    case 'array':
      return <ArrayField {...props} />;
    case 'yaml':
      return <YamlField {...props} />;
    default:
      return <ScalarField {...props} />;
  }
}

/** A text, number, yes/no, choice or reference control with its label, hint and messages. */
function ScalarField({ schema, value, onChange, pointer, label, required, item }: FieldProps): ReactElement {
  const form = useForm();
  const id = fieldId(pointer);
  const shape = fieldShape(schema);
  const messages = messagesFor(form, pointer, false);
  const description = typeof schema['description'] === 'string' ? schema['description'] : undefined;
  const describedBy = [description ? `${id}-hint` : '', messages.length > 0 ? `${id}-errors` : ''].filter(Boolean).join(' ') || undefined;
  const locked = form.locked.has(pointer);
  const change = (next: unknown): void => {
    form.touch(pointer);
    onChange(next);
  };
  const common = { id, 'aria-describedby': describedBy, 'aria-invalid': messages.length > 0 ? true : undefined, 'aria-required': required || undefined, disabled: locked };
  let control: ReactElement;
  if (shape === 'boolean' && required) {
    control = <input type="checkbox" {...common} checked={value === true} onChange={(event) => change(event.target.checked)} />;
  } else if (shape === 'boolean' || shape === 'enum') {
    const options = shape === 'boolean' ? [true, false] : (schema['enum'] as unknown[]);
    control = (
      <select {...common} value={value === undefined ? '' : JSON.stringify(value)} onChange={(event) => change(event.target.value === '' ? undefined : JSON.parse(event.target.value))}>
        {(!required || value === undefined) && <option value="">(not set)</option>}
        {options.map((option) => (
          <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
            {String(option)}
          </option>
        ))}
        {value !== undefined && !options.some((option) => JSON.stringify(option) === JSON.stringify(value)) && <option value={JSON.stringify(value)}>{String(value)}</option>}
      </select>
    );
  } else if (shape === 'number' || shape === 'integer') {
    const text = value === undefined || value === null ? '' : String(value);
    control = (
      <input
        type="text"
        inputMode={shape === 'integer' ? 'numeric' : 'decimal'}
        autoComplete="off"
        {...common}
        value={text}
        onChange={(event) => {
          const raw = event.target.value.trim();
          // Text that is not yet a number is kept as text, so the message says what is wrong.
          change(raw === '' ? (required ? '' : undefined) : String(Number(raw)) === raw ? Number(raw) : raw);
        }}
      />
    );
  } else if (shape === 'ref') {
    control = <RefInput common={common} kinds={refKinds(schema)!} value={typeof value === 'string' ? value : ''} onChange={(text) => change(text === '' && !required ? undefined : text)} />;
  } else {
    control = <input type="text" autoComplete="off" spellCheck={false} {...common} value={typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value)} onChange={(event) => change(event.target.value === '' && !required ? undefined : event.target.value)} />;
  }
  return (
    <div className={`field${messages.length > 0 ? ' invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {required && !item && <span className="required"> (required)</span>}
      </label>
      {control}
      {description && (
        <p className="hint" id={`${id}-hint`}>
          {description}
        </p>
      )}
      <FieldMessages id={id} messages={messages} />
    </div>
  );
}

/** How long typing in a reference field pauses before suggestions are asked for. */
const SUGGEST_PAUSE_MS = 200;

/** A reference `<kind>/<name>`: a text field with the matching assets of the allowed kinds as suggestions. */
function RefInput({ common, kinds, value, onChange }: { common: Record<string, unknown>; kinds: string[]; value: string; onChange: (text: string) => void }): ReactElement {
  const { client } = useForm();
  const listId = `${useId()}-suggestions`;
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    if (!focused) return;
    let current = true;
    const words = value.includes('/') ? value.slice(value.indexOf('/') + 1) : value;
    const timer = setTimeout(() => {
      // One kind is filtered by the server; several are asked for in one search and kept by kind.
      const query = { ...(kinds.length === 1 ? { kind: kinds[0] } : {}), ...(words.trim() ? { q: words.trim() } : {}), limit: 20 };
      client.listAssets(query).then(
        (page) => current && setSuggestions(page.items.filter((asset) => kinds.includes(asset.kind)).map((asset) => asset.id)),
        () => current && setSuggestions([]),
      );
    }, SUGGEST_PAUSE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [value, focused, kinds.join(',')]);
  return (
    <>
      <input type="text" autoComplete="off" spellCheck={false} {...common} list={listId} value={value} placeholder={`${kinds.map((kind) => kind.toLowerCase()).join(' or ')}/<name>`} onFocus={() => setFocused(true)} onChange={(event) => onChange(event.target.value)} />
      <datalist id={listId}>
        {suggestions.map((id) => (
          <option key={id} value={id} />
        ))}
      </datalist>
    </>
  );
}

/** An object with declared properties: a fieldset of its fields; keys the schema does not declare stay editable as YAML. */
function ObjectField({ schema, value, onChange, pointer, label, required }: FieldProps): ReactElement {
  const form = useForm();
  const record = isRecord(value) ? value : {};
  const properties = isRecord(schema['properties']) ? (schema['properties'] as Record<string, Schema>) : {};
  const requiredKeys = new Set(Array.isArray(schema['required']) ? schema['required'].map(String) : []);
  const extraKeys = Object.keys(record).filter((key) => !(key in properties));
  const messages = messagesFor(form, pointer, false);
  const id = fieldId(pointer);
  const set = (key: string, next: unknown): void => {
    const copy: Record<string, unknown> = { ...record, [key]: next };
    if (next === undefined) delete copy[key];
    onChange(copy);
  };
  return (
    <fieldset className="object-field" aria-describedby={messages.length > 0 ? `${id}-errors` : undefined}>
      <legend>
        {label}
        {required && <span className="required"> (required)</span>}
      </legend>
      {typeof schema['description'] === 'string' && <p className="hint">{schema['description']}</p>}
      <FieldMessages id={id} messages={messages} />
      {Object.entries(properties).map(([key, child]) => (
        <SchemaField key={key} schema={isRecord(child) ? child : {}} value={record[key]} onChange={(next) => set(key, next)} pointer={childPointer(pointer, key)} label={key} required={requiredKeys.has(key)} />
      ))}
      {extraKeys.length > 0 && (
        <YamlField
          schema={{}}
          value={Object.fromEntries(extraKeys.map((key) => [key, record[key]]))}
          onChange={(next) => {
            const kept = Object.fromEntries(Object.entries(record).filter(([key]) => key in properties));
            onChange({ ...kept, ...(isRecord(next) ? next : {}) });
          }}
          pointer={`${pointer}/~other`}
          label={`${label}: other fields`}
          required={false}
        />
      )}
    </fieldset>
  );
}

let nextRowId = 0;

/** A map (free keys, values of one schema): a row per entry with its key, its value and a remove button. */
function MapField({ schema, value, onChange, pointer, label, required }: FieldProps): ReactElement {
  const form = useForm();
  const valueSchema = subSchema(schema, 'additionalProperties');
  const [rows, setRows] = useState(() => Object.entries(isRecord(value) ? value : {}).map(([key, item]) => ({ row: nextRowId++, key, value: item })));
  const id = fieldId(pointer);
  const messages = messagesFor(form, pointer, false);
  const emit = (next: typeof rows): void => {
    setRows(next);
    form.touch(pointer);
    const keys = next.map((row) => row.key);
    const problem = keys.some((key) => key === '') ? 'every entry needs a key' : keys.find((key, index) => keys.indexOf(key) !== index);
    form.setLocalError(pointer, problem === undefined ? undefined : problem === 'every entry needs a key' ? problem : `the key '${problem}' appears twice`);
    onChange(Object.fromEntries(next.filter((row) => row.key !== '').map((row) => [row.key, row.value])));
  };
  const scalar = isScalarShape(fieldShape(valueSchema));
  return (
    <fieldset className="map-field" aria-describedby={messages.length > 0 ? `${id}-errors` : undefined}>
      <legend>
        {label}
        {required && <span className="required"> (required)</span>}
      </legend>
      {typeof schema['description'] === 'string' && <p className="hint">{schema['description']}</p>}
      <FieldMessages id={id} messages={messages} />
      {rows.length === 0 && <p className="muted">No entries.</p>}
      {rows.map((row, index) => {
        const keyId = `${id}-key-${row.row}`;
        const rowPointer = childPointer(pointer, row.key);
        const keyMessages = row.key !== '' ? messagesFor(form, rowPointer, false).filter((message) => message.startsWith('key ')) : [];
        return (
          <div className={`map-row${scalar ? ' inline' : ''}`} key={row.row}>
            <div className="field">
              <label htmlFor={keyId}>
                {label} key {index + 1}
              </label>
              <input type="text" id={keyId} autoComplete="off" spellCheck={false} value={row.key} aria-invalid={keyMessages.length > 0 || row.key === '' ? true : undefined} onChange={(event) => emit(rows.map((r) => (r.row === row.row ? { ...r, key: event.target.value } : r)))} />
              <FieldMessages id={keyId} messages={keyMessages} />
            </div>
            <SchemaField
              schema={valueSchema}
              value={row.value}
              onChange={(next) => emit(rows.map((r) => (r.row === row.row ? { ...r, value: next } : r)))}
              pointer={row.key === '' ? `${pointer}/~new${row.row}` : rowPointer}
              label={row.key === '' ? `${label} value ${index + 1}` : `${label} ${row.key}`}
              required
              item
            />
            <button type="button" className="remove" onClick={() => emit(rows.filter((r) => r.row !== row.row))} aria-label={`Remove ${label} ${row.key || `entry ${index + 1}`}`}>
              Remove
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => emit([...rows, { row: nextRowId++, key: '', value: emptyValue(valueSchema) }])}>
        Add to {label}
      </button>
    </fieldset>
  );
}

/** An array: its items (each a field of the items' schema) with remove buttons, and an add button. */
function ArrayField({ schema, value, onChange, pointer, label, required }: FieldProps): ReactElement {
  const form = useForm();
  const items = Array.isArray(value) ? value : [];
  const itemSchema = subSchema(schema, 'items');
  const id = fieldId(pointer);
  const messages = messagesFor(form, pointer, false);
  const emit = (next: unknown[]): void => {
    form.touch(pointer);
    onChange(next);
  };
  return (
    <fieldset className="array-field" aria-describedby={messages.length > 0 ? `${id}-errors` : undefined}>
      <legend>
        {label}
        {required && <span className="required"> (required)</span>}
      </legend>
      {typeof schema['description'] === 'string' && <p className="hint">{schema['description']}</p>}
      <FieldMessages id={id} messages={messages} />
      {items.length === 0 && <p className="muted">No items.</p>}
      {items.map((item, index) => (
        <div className="array-row" key={index}>
          <SchemaField schema={itemSchema} value={item} onChange={(next) => emit(items.map((old, at) => (at === index ? next : old)))} pointer={childPointer(pointer, index)} label={`${label} ${index + 1}`} required item />
          <button type="button" className="remove" onClick={() => emit(items.filter((_, at) => at !== index))} aria-label={`Remove ${label} ${index + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => emit([...items, emptyValue(itemSchema)])}>
        Add to {label}
      </button>
    </fieldset>
  );
}

/** The fallback for a schema the form cannot show: the subtree as YAML in a text area, read back as you type. */
function YamlField({ schema, value, onChange, pointer, label, required }: FieldProps): ReactElement {
  const form = useForm();
  const id = fieldId(pointer);
  const [text, setText] = useState(() => (value === undefined ? '' : yamlText(toYamlLines(value))));
  const lastSent = useRef(value);
  // A value changed from outside (not by this area) is shown anew.
  useEffect(() => {
    if (JSON.stringify(value) !== JSON.stringify(lastSent.current)) {
      lastSent.current = value;
      setText(value === undefined ? '' : yamlText(toYamlLines(value)));
    }
  }, [value]);
  const messages = messagesFor(form, pointer, true);
  const edit = (next: string): void => {
    setText(next);
    form.touch(pointer);
    try {
      const parsed = next.trim() === '' ? undefined : readYaml(next);
      form.setLocalError(pointer, undefined);
      const sent = parsed === null && !required ? undefined : parsed;
      lastSent.current = sent;
      onChange(sent);
    } catch (error) {
      form.setLocalError(pointer, `YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const description = typeof schema['description'] === 'string' ? schema['description'] : undefined;
  return (
    <div className={`field yaml-field${messages.length > 0 ? ' invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {required && <span className="required"> (required)</span>} <span className="muted">(YAML)</span>
      </label>
      <textarea
        id={id}
        value={text}
        rows={Math.min(16, Math.max(3, text.split('\n').length + 1))}
        spellCheck={false}
        aria-describedby={[`${id}-hint`, messages.length > 0 ? `${id}-errors` : ''].filter(Boolean).join(' ')}
        aria-invalid={messages.length > 0 ? true : undefined}
        disabled={form.locked.has(pointer)}
        onChange={(event) => edit(event.target.value)}
      />
      <p className="hint" id={`${id}-hint`}>
        {description ? `${description} ` : ''}This part is edited as YAML.
      </p>
      <FieldMessages id={id} messages={messages} />
    </div>
  );
}
