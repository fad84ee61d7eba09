/** A webhook receiver for tests: a real HTTP server on a local port (WebhookDispatcher and DriftAlerts tests). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scripted answer of the receiver; `hang` never answers (until the server closes). */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  hang?: boolean;
}

/** One request as the receiver got it. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A real HTTP receiver on a free local port that answers from a script (then 200). */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly script: Answer[] = [];
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        for (const waiter of [...this.waiters]) {
          if (this.requests.length >= waiter.count) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        const answer = this.script.shift() ?? { status: 200 };
        if (answer.hang) return;
        response.writeHead(answer.status ?? 200, answer.headers ?? {});
        response.end('ok');
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  answer(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  /** Resolves once `count` requests have arrived. */
  received(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  bodies(): Array<Record<string, unknown>> {
    return this.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
