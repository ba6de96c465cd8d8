/**
 * What a test file opens that outlives it unless closed: Redis connections (ioredis, and so every
 * BullMQ Worker, Queue and QueueEvents), listening servers (HTTP, SMTP, any net.Server) and child
 * processes. Their constructors are wrapped once per process; each resource is tracked from the
 * moment it opens until its close event, with the test and the source lines that opened it.
 * Only these classes are tracked, so the test runner's own handles never count.
 */
import { ChildProcess } from 'node:child_process';
import { Server } from 'node:net';
import { relative, resolve, sep } from 'node:path';
import { Redis } from 'ioredis';
import { expect } from 'vitest';

export interface OpenResource {
  /** What it is, e.g. `a Redis connection to 127.0.0.1:6379 (a BullMQ Worker's)`. */
  what(): string;
  /** The test that opened it and the lines of our code on the way. */
  readonly openedAt: string;
  isOpen(): boolean;
  /** Resolves when it has closed. */
  readonly closed: Promise<void>;
  /** Closes it at once, for a file that left it open. */
  forceClose(): void;
}

export interface OpenResources {
  /** Forgets what earlier files opened: call once per test file, before it runs. */
  reset(): void;
  /**
   * What is still open, after giving what is closing `graceMs` to finish (a connection that was
   * told to quit reports its end a moment later).
   */
  stillOpen(graceMs: number): Promise<OpenResource[]>;
}

const ROOT = resolve(import.meta.dirname, '../..');
const STATE = Symbol.for('auth0-migrate:test:open-resources');

type Tracked = Set<OpenResource>;

/** The tracker of this process, installed on first use. */
export function openResources(): OpenResources {
  const global = globalThis as { [STATE]?: Tracked };
  let open = global[STATE];
  if (open === undefined) {
    open = new Set();
    global[STATE] = open;
    install(open);
  }
  const tracked = open;
  return {
    reset: () => tracked.clear(),
    async stillOpen(graceMs) {
      const closing = [...tracked].filter((r) => r.isOpen());
      if (closing.length > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(closing.map((r) => r.closed)),
          new Promise<void>((done) => (timer = setTimeout(done, graceMs))),
        ]);
        clearTimeout(timer);
      }
      return [...tracked].filter((r) => r.isOpen());
    },
  };
}

function install(open: Tracked): void {
  const track = (resource: OpenResource): void => {
    open.add(resource);
    void resource.closed.then(() => open.delete(resource));
  };
  const seen = new WeakSet<object>();

  const connect = Redis.prototype.connect;
  // Every ioredis client connects through here, BullMQ's duplicates included (reconnects too).
  Redis.prototype.connect = function (this: Redis, ...args: Parameters<Redis['connect']>) {
    if (!seen.has(this) || this.status === 'end') {
      seen.add(this);
      track(redisResource(this, origin()));
    }
    return connect.apply(this, args);
  };

  const listen = Server.prototype.listen as (this: Server, ...args: unknown[]) => Server;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    track(serverResource(this, origin()));
    return listen.apply(this, args);
  } as typeof Server.prototype.listen;

  const proto = ChildProcess.prototype as ChildProcess & { spawn(options: unknown): unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: unknown) {
    const where = origin();
    const result = spawn.call(this, options);
    track(processResource(this, where));
    return result;
  };
}

function redisResource(redis: Redis, origin: Origin): OpenResource {
  const owner = origin.bullmq === undefined ? '' : ` (a BullMQ ${origin.bullmq}'s)`;
  const client = redis as unknown as { manuallyClosing?: boolean; stream?: { destroyed?: boolean } };
  return {
    what: () => `a Redis connection to ${redis.options.host}:${redis.options.port}${owner}`,
    openedAt: origin.at,
    // disconnect() while reconnecting leaves the status at 'reconnecting' for good (an ioredis
    // quirk), though no socket or timer is left: closed on purpose with its socket gone is closed.
    isOpen: () =>
      redis.status !== 'end' && !(client.manuallyClosing === true && client.stream?.destroyed !== false),
    closed: new Promise((done) => (redis.status === 'end' ? done() : redis.once('end', () => done()))),
    forceClose: () => redis.disconnect(),
  };
}

function serverResource(server: Server, origin: Origin): OpenResource {
  return {
    what() {
      const address = server.address();
      const where =
        typeof address === 'string'
          ? address
          : address
            ? `${address.address}:${address.port}`
            : 'no address yet';
      return `a server listening on ${where}`;
    },
    openedAt: origin.at,
    isOpen: () => server.listening,
    closed: new Promise((done) => server.once('close', () => done())),
    forceClose() {
      server.close();
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    },
  };
}

function processResource(child: ChildProcess, origin: Origin): OpenResource {
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    what: () => `child process ${child.pid ?? '(not started)'} (${child.spawnargs.join(' ').slice(0, 120)})`,
    openedAt: origin.at,
    isOpen: () => running() && child.pid !== undefined,
    closed: new Promise((done) => {
      if (!running()) done();
      child.once('exit', () => done());
      child.once('error', () => done());
    }),
    forceClose: () => child.kill('SIGKILL'),
  };
}

interface Origin {
  /** `in "<test>" at test/x.test.ts:12 ← src/y.ts:34`: the project's own frames, nearest first. */
  at: string;
  /** The BullMQ class on the way (Worker, Queue, QueueEvents, FlowProducer), if any. */
  bullmq?: string;
}

const BULLMQ_CLASS =
  /[\\/]bullmq[\\/]dist[\\/]\w+[\\/]classes[\\/](worker|queue-events|queue|flow-producer)\.js$/;

function origin(): Origin {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const frames: string[] = [];
  let bullmq: string | undefined;
  for (const line of stack.split('\n').slice(1)) {
    const file = /(?:\(|at )(?:file:\/\/)?(\/[^():]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!file) continue;
    const path = file[1]!;
    if (path.includes(`${sep}node_modules${sep}`)) {
      const name = BULLMQ_CLASS.exec(path)?.[1];
      bullmq ??= name?.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase());
      continue;
    }
    if (!path.startsWith(ROOT + sep) || path === import.meta.filename) continue;
    frames.push(`${relative(ROOT, path)}:${file[2]}`);
    if (frames.length === 4) break;
  }
  const test = expect.getState().currentTestName;
  const during = test === undefined ? 'outside any test (in a hook or the file itself)' : `in "${test}"`;
  return { at: `${during} at ${frames.join(' ← ') || 'an unknown place'}`, ...(bullmq && { bullmq }) };
}
