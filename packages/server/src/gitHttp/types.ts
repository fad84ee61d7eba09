import type { Role, Store, TokenRecord } from '../store/Store.js';

/** Options of `registerGitHttp`. */
export interface GitHttpOptions {
  /** The bare estate repository served at `/estate.git` (its git dir). */
  repoDir: string;
  /** A directory the server owns (e.g. `<dataDir>/git-hooks`): the push hooks are (re)written there at registration. */
  hooksDir: string;
  /** Where tokens are looked up (the store; wrapped in a `TokenCache`). */
  tokens: Pick<Store, 'tokenByHash'>;
  /** Anonymous fetch and clone are allowed (like the viewer routes of `--open-read`); push always needs a token. */
  openRead: boolean;
  /** Decides about every push. */
  handler: PushHandler;
  /** The server's base URL as users reach it, e.g. `https://estate.example.com`; the hooks call it when the listening address is unknown. */
  publicUrl: () => string;
  /** Called when a token is refused for its role (`403`: a viewer's push), e.g. to audit refused writes; as `buildApp`'s `onDenied`. */
  onDenied?: (token: TokenRecord, request: { method: string; url: string; required: Role }) => void;
}

/**
 * One ref update of a push, as git's pre- and post-receive hooks get it (githooks(5)).
 * `oldSha` undefined = the ref is created; `newSha` undefined = the ref is deleted.
 */
export interface RefUpdate {
  /** The full ref name, e.g. `refs/heads/main`, `refs/for/main`. */
  ref: string;
  oldSha: string | undefined;
  newSha: string | undefined;
}

/** Who pushes, and how. */
export interface PushContext {
  /** The authenticated token (its `name` is the user). */
  pusher: TokenRecord;
  /** The values of `git push -o <value>` (e.g. `emergency=fire`), in order; empty when none. */
  pushOptions: string[];
  /**
   * Env to run git against the pushed objects while they are still quarantined (pre-receive
   * only; empty after the push): `GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES` and
   * `GIT_QUARANTINE_PATH` as git set them for the hook (git-receive-pack(1) "QUARANTINE
   * ENVIRONMENT"). Run git in the repo dir with this env added to read the new commits.
   */
  quarantineEnv: Record<string, string>;
}

/** Decides about pushes; the change-request service implements it. */
export interface PushHandler {
  /**
   * pre-receive: all updates of one push, before any ref moves. `refuse` set = the whole push is
   * refused with that message (shown to the pusher as `remote: ...` lines); `messages` are shown
   * either way.
   */
  checkPush(updates: RefUpdate[], ctx: PushContext): Promise<{ refuse?: string; messages: string[] }>;
  /** post-receive: the refs are updated; the messages are shown to the pusher (e.g. `change request 12 opened: <url>`). */
  afterPush(updates: RefUpdate[], ctx: PushContext): Promise<{ messages: string[] }>;
}
