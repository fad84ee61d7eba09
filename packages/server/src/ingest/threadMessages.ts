import { ConflictError, EstateError, InputError, NotAllowedError, NotFoundError, ValidationError } from '@estate/core';
import type { DriftOptions, DriftSnapshot } from '../drift/DriftEngine.js';
import type { IngestOptions } from './IngestService.js';
import type { SubmitResult } from './types.js';

/** What the ingest thread is started with (docs/ingest.md#the-ingest-thread). */
export interface IngestThreadData {
  /** `<dataDir>/ingest.db`. */
  file: string;
  /** The ingest options but the functions (`processors`, `log`), which stay in the main thread. */
  options: Omit<IngestOptions, 'processors' | 'log'>;
  drift: Partial<DriftOptions>;
  /** Modules (file URLs) whose `processor` export runs after the built-in report processors. */
  processorModules: string[];
}

/** The calls the main thread makes of the ingest thread, answered by a {@link ThreadReply} with the same `id`. */
export type ThreadCall =
  | { type: 'replay'; id: number; deadLetterId: number }
  | { type: 'prune'; id: number; now: number }
  | { type: 'snapshot'; id: number; snapshot: DriftSnapshot }
  | { type: 'metrics'; id: number }
  | { type: 'close'; id: number };

/**
 * A report body to check and queue, with the number its ack carries and the id of the token that
 * sent it. A token's host scope crosses once (`hosts`, the first time the thread sees the token
 * since the last `forgetScopes`): tokens never change their scopes.
 */
export interface SubmitEntry {
  id: number;
  text: string;
  tokenId: string;
  hosts?: string[];
}

/** Messages to the ingest thread: reports to queue, and calls. */
export type ToThread = { type: 'submit'; forgetScopes: boolean; reports: SubmitEntry[] } | ThreadCall;

/** An error as it crosses between threads: enough to throw the same error again. */
export interface ThreadError {
  name: string;
  code?: string;
  message: string;
  data?: Record<string, unknown>;
}

/** The answer of a call. */
export interface ThreadReply {
  type: 'reply';
  id: number;
  value?: unknown;
  error?: ThreadError;
}

/** Messages from the ingest thread. */
export type FromThread =
  | { type: 'ready'; backlog: number }
  | { type: 'fatal'; error: ThreadError }
  | { type: 'acks'; acks: Array<{ id: number; result?: SubmitResult; error?: ThreadError }> }
  | ThreadReply
  /** The thread's backlog, sent every few hundred ms (for admission; the ingest thread checks it again). */
  | { type: 'backlog'; backlog: number }
  /** Drift events may have been written: the main thread's listeners run (shadow mode). */
  | { type: 'evaluated' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; data?: Record<string, unknown> };

/** An error to send to the other thread. */
export function toThreadError(error: unknown): ThreadError {
  if (error instanceof EstateError) return { name: error.name, code: error.code, message: error.message, data: error.data };
  return { name: 'Error', message: error instanceof Error ? error.message : String(error) };
}

const ERROR_CLASSES: Record<string, typeof EstateError> = { EstateError, InputError, NotFoundError, ConflictError, NotAllowedError, ValidationError };

/** The error another thread sent, as the same class, code and data (an error without a code stays a plain, internal one). */
export function fromThreadError(error: ThreadError): Error {
  if (error.code === undefined) return new Error(error.message);
  const Class = ERROR_CLASSES[error.name] ?? EstateError;
  return new Class(error.code, error.message, error.data ?? {});
}
