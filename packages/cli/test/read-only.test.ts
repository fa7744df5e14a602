import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { DiscoveryBackend, NodeDiscovery } from '@roster/core';
import { createDiscovery } from '@roster/core';
import { freshNamespace, type ServiceHandle, startEtcd, startNats, startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../src/run-cli.js';

// Issue 13, item 6: `ls`, `get`, `history` and `watch` never create a namespace and leave the store
// exactly as they found it. Each case snapshots the whole raw store (every stream / key, with
// revisions) around each command, through the server's own client, never through Roster.
//
// The CLI runs in-process (runCli) on the backends' sources, so that this checkout is tested
// whether or not the backend packages were built. Every case starts its own servers: a snapshot
// covers the whole server, so nothing else may write to it meanwhile.

type Kind = 'nats' | 'redis' | 'etcd';
type Module = Record<string, unknown>;

const SOURCES: Record<string, string> = {
  '@roster/memory': '../../memory/src/index.ts',
  '@roster/nats': '../../nats/src/index.ts',
  '@roster/redis': '../../redis/src/index.ts',
  '@roster/etcd': '../../etcd/src/index.ts',
};
const loadModule = (specifier: string): Promise<Module> => {
  const source = SOURCES[specifier];
  if (!source) throw new Error(`no source for ${specifier}`);
  return import(/* @vite-ignore */ new URL(source, import.meta.url).href) as Promise<Module>;
};

/** A dependency of a backend package (the CLI itself does not depend on the server clients). */
function importVia(backendPackage: string, dependency: string): Promise<Module> {
  const require = createRequire(new URL(`../node_modules/${backendPackage}/package.json`, import.meta.url));
  return import(pathToFileURL(require.resolve(dependency)).href) as Promise<Module>;
}

/** The app's ttl: not the CLI's default (10 s), so a namespace the CLI created would refuse the app. */
const APP_TTL = 7_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A `roster …` run in-process; `interrupt` plays Ctrl-C. */
class Cli {
  stdout = '';
  stderr = '';
  readonly done: Promise<Result>;
  private readonly controller = new AbortController();

  constructor(
    args: readonly string[],
    options: { env?: Record<string, string>; load?: (specifier: string) => Promise<Module> } = {},
  ) {
    this.done = runCli(args, {
      stdout: { write: (text: string) => (this.stdout += text) },
      stderr: { write: (text: string) => (this.stderr += text) },
      env: { NO_COLOR: '1', ...options.env },
      loadModule: options.load ?? loadModule,
      interrupt: this.controller.signal,
    }).then((code) => ({ code, stdout: this.stdout, stderr: this.stderr }));
  }

  interrupt(): void {
    this.controller.abort();
  }

  lines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

function roster(args: readonly string[], options?: ConstructorParameters<typeof Cli>[1]): Promise<Result> {
  return new Cli(args, options).done;
}

/** Polls `check` every 50 ms until it holds, or fails with `what` after `timeoutMs`. */
async function until(check: () => boolean, what: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- raw snapshots: everything the server holds, by the server's own client --------------------

type Snapshot = () => Promise<unknown>;
/** The servers' own clients, loaded at run time through the backend packages: untyped here. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
type Raw = any;

/**
 * Every stream with its settings, creation time and last sequence (any write moves it), and for
 * each subject its last message (sequence, bytes, KV operation). Not the message counts: MaxAge
 * drops messages older than the ttl, which no command should be blamed for.
 */
async function natsSnapshot(url: string): Promise<Snapshot> {
  const { connect } = (await importVia('@roster/nats', '@nats-io/transport-node')) as {
    connect: (options: { servers: string }) => Promise<{ close(): Promise<void> }>;
  };
  const { jetstreamManager } = await importVia('@roster/nats', '@nats-io/jetstream');
  return async () => {
    const nc = await connect({ servers: url });
    try {
      const jsm: Raw = await (jetstreamManager as (nc: unknown) => Promise<unknown>)(nc);
      const names: string[] = [];
      for await (const name of jsm.streams.names()) names.push(name as string);
      const streams = [];
      for (const name of names.sort()) {
        const info = await jsm.streams.info(name, { subjects_filter: '>' });
        const subjects = Object.keys(info.state.subjects ?? {}).sort();
        const last = [];
        for (const subject of subjects) {
          const message = await jsm.streams.getMessage(name, { last_by_subj: subject });
          last.push({
            subject,
            seq: message?.seq,
            data: Buffer.from(message?.data ?? []).toString('base64'),
            operation: message?.header?.get('KV-Operation') ?? '',
          });
        }
        const { config } = info;
        streams.push({
          name,
          created: info.created,
          maxAge: config.max_age,
          storage: config.storage,
          subjects: config.subjects,
          perSubject: config.max_msgs_per_subject,
          lastSeq: info.state.last_seq,
          last,
        });
      }
      return streams;
    } finally {
      await nc.close();
    }
  };
}

/** Every key (SCAN) with its type, whether it expires, and its whole value; streams with their groups. */
async function redisSnapshot(url: string): Promise<Snapshot> {
  const { Redis } = (await importVia('@roster/redis', 'ioredis')) as {
    Redis: new (url: string) => Raw;
  };
  return async () => {
    const client = new Redis(url);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      const snapshot = [];
      for (const key of [...new Set(keys)].sort()) {
        const type = await client.type(key);
        const expires = (await client.pttl(key)) > 0;
        let value: unknown;
        if (type === 'string') value = await client.get(key);
        else if (type === 'hash') value = Object.entries(await client.hgetall(key)).sort();
        else if (type === 'list') value = await client.lrange(key, 0, -1);
        else if (type === 'set') value = (await client.smembers(key)).sort();
        else if (type === 'zset') value = await client.zrange(key, 0, -1, 'WITHSCORES');
        else if (type === 'stream')
          value = { entries: await client.xrange(key, '-', '+'), groups: await client.xinfo('GROUPS', key) };
        snapshot.push({ key, type, expires, value });
      }
      return snapshot;
    } finally {
      client.disconnect();
    }
  };
}

/** The whole keyspace at the current revision: every key with its value, revisions and lease. */
async function etcdSnapshot(url: string): Promise<Snapshot> {
  const { Etcd3 } = (await importVia('@roster/etcd', 'etcd3')) as {
    Etcd3: new (options: { hosts: string }) => Raw;
  };
  return async () => {
    const client = new Etcd3({ hosts: url });
    try {
      const all = Buffer.from([0]);
      const response = await client.kv.range({ key: all, range_end: all });
      return {
        revision: response.header.revision,
        keys: response.kvs.map((kv: Record<string, unknown>) => ({
          key: String(kv.key),
          value: Buffer.from(kv.value as Buffer).toString('base64'),
          created: kv.create_revision,
          modified: kv.mod_revision,
          version: kv.version,
          lease: kv.lease,
        })),
      };
    } finally {
      client.close();
    }
  };
}

interface Setup {
  start: () => Promise<ServiceHandle>;
  snapshot: (url: string) => Promise<Snapshot>;
  backend: (module: Module, url: string, namespace: string) => DiscoveryBackend;
  /**
   * True once a freshly opened app stopped changing the store on its own. Redis: the app takes
   * the standby lease first and moves to the sweeper lease a moment later.
   */
  settled?: (snapshot: unknown, namespace: string) => boolean;
}

const SETUPS: Record<Kind, Setup> = {
  nats: {
    start: () => startNats(),
    snapshot: natsSnapshot,
    backend: (m, url, namespace) =>
      (m.natsBackend as (o: object) => DiscoveryBackend)({ servers: url, namespace }),
  },
  redis: {
    start: () => startRedis(),
    snapshot: redisSnapshot,
    backend: (m, url, namespace) => (m.redisBackend as (o: object) => DiscoveryBackend)({ url, namespace }),
    settled: (snapshot, namespace) => {
      const keys = (snapshot as { key: string }[])
        .map((entry) => entry.key)
        .filter((key) => key.startsWith(`{roster:${namespace}}:`));
      return keys.some((key) => key.endsWith(':sweeper')) && !keys.some((key) => key.endsWith(':standby'));
    },
  },
  etcd: {
    start: () => startEtcd(),
    snapshot: etcdSnapshot,
    backend: (m, url, namespace) =>
      (m.etcdBackend as (o: object) => DiscoveryBackend)({ hosts: url, namespace }),
  },
};

describe.each<Kind>(['nats', 'redis', 'etcd'])('%s', (kind) => {
  const setup = SETUPS[kind];
  let server: ServiceHandle;
  let snapshot: Snapshot;
  let base: string;
  let module: Module;

  beforeAll(async () => {
    server = await setup.start();
    snapshot = await setup.snapshot(server.url);
    base = `${kind}://${server.url.replace(/^[a-z]+:\/\//, '')}`;
    module = await loadModule(`@roster/${kind}`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The application: its own ttl, heartbeats only when the test says (a heartbeat on NATS is a write). */
  async function app(namespace: string): Promise<NodeDiscovery> {
    const discovery = await createDiscovery({
      backend: setup.backend(module, server.url, namespace),
      ttl: APP_TTL,
      autoHeartbeat: false,
    });
    onTestFinished(() => discovery.close());
    return discovery;
  }

  it('on an absent namespace ls, get, history and watch change nothing; the app then opens it with its own ttl', async () => {
    const namespace = freshNamespace('ro');
    const url = `${base}?namespace=${namespace}`;
    const unchanged = async (what: string, run: () => Promise<void>) => {
      const before = await snapshot();
      await run();
      expect(await snapshot(), `${what} changed the store`).toEqual(before);
    };

    await unchanged('ls', async () => {
      const result = await roster(['ls', '--url', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(`no nodes in namespace ${namespace} (it does not exist; ${kind})`);
    });
    await unchanged('ls --json --ttl 2000', async () => {
      const result = await roster(['ls', '--json', '--ttl', '2000', '--url', url]);
      expect(result, result.stderr).toMatchObject({ code: 0, stdout: '' });
    });
    await unchanged('get', async () => {
      const result = await roster(['get', 'api-1', '--url', url]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(`roster: no node "api-1" in namespace ${namespace}`);
      expect(result.stderr).toMatch(`namespace ${namespace} does not exist`);
    });
    await unchanged('history', async () => {
      const result = await roster(['history', 'api-1', '--json', '--url', url]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(`roster: no history for "api-1" in namespace ${namespace}`);
    });

    // watch waits for the namespace, looking once a second (--verbose says each time), creating nothing.
    const before = await snapshot();
    const watch = new Cli(['watch', '--json', '--verbose', '--url', url]);
    onTestFinished(() => watch.interrupt());
    const looks = () => watch.stderr.split('does not exist yet; looking again').length - 1;
    await until(
      () => looks() >= 2,
      () => `two more looks by watch\n${watch.stderr}`,
    );
    expect(watch.stderr).toMatch(`namespace ${namespace} does not exist yet at`);
    expect(await snapshot(), 'watch, waiting, changed the store').toEqual(before);

    // The application creates the namespace with its own ttl: no ConfigMismatchError, and the
    // waiting watch picks the namespace up and shows its node.
    const application = await app(namespace);
    await application.register({ id: 'api-1', metadata: { role: 'api' } });
    await until(
      () => watch.stdout.includes('"type":"joined"'),
      () => `watch to show api-1 joining\n${watch.stdout}\n${watch.stderr}`,
    );
    expect(watch.lines()).toMatchObject([{ type: 'joined', node: { id: 'api-1' } }]);
    watch.interrupt();
    expect((await watch.done).code, watch.stderr).toBe(0);
  });

  it('on a namespace an app created with ttl 7 s they show its nodes and change nothing', async () => {
    const namespace = freshNamespace('ro');
    const url = `${base}?namespace=${namespace}`;
    const application = await app(namespace);
    await application.register({ id: 'api-1', address: '10.0.0.1:80', metadata: { role: 'api' } });
    await application.register({ id: 'db-1', metadata: { role: 'db' } });
    await application.register({ id: 'api-1', address: '10.0.0.1:80', metadata: { role: 'api' }, load: 1 });
    const settled = setup.settled;
    if (settled) {
      const deadline = Date.now() + 15_000;
      for (let last = await snapshot(); !settled(last, namespace); last = await snapshot()) {
        if (Date.now() > deadline) throw new Error(`the app never settled: ${JSON.stringify(last)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    /** One command between two snapshots, right after a heartbeat, so that nothing ages out meanwhile. */
    const unchanged = async (what: string, run: () => Promise<void>) => {
      await application.heartbeat('api-1');
      await application.heartbeat('db-1');
      const before = await snapshot();
      await run();
      expect(await snapshot(), `${what} changed the store`).toEqual(before);
    };

    await unchanged('ls --json', async () => {
      const result = await roster(['ls', '--json', '--url', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).id),
      ).toEqual(['api-1', 'db-1']);
    });
    await unchanged('ls --ttl 10000', async () => {
      const result = await roster(['ls', '--ttl', '10000', '--url', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/api-1[\s\S]*db-1/);
      expect(result.stderr.trim()).toBe(
        `roster: note: namespace ${namespace} has ttl ${APP_TTL} ms; using it instead of --ttl 10000`,
      );
    });
    await unchanged('get', async () => {
      const result = await roster(['get', 'api-1', '--json', '--url', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ id: 'api-1', load: 1, metadata: { role: 'api' } });
    });
    await unchanged('history', async () => {
      const result = await roster(['history', 'api-1', '--json', '--url', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).load),
      ).toEqual([1, 0]);
    });
    await unchanged('watch', async () => {
      const watch = new Cli(['watch', '--json', '--url', url]);
      onTestFinished(() => watch.interrupt());
      await until(
        () => watch.lines().length >= 2,
        () => `watch to list both nodes\n${watch.stdout}\n${watch.stderr}`,
      );
      expect(watch.lines()).toMatchObject([
        { type: 'joined', node: { id: 'api-1' } },
        { type: 'joined', node: { id: 'db-1' } },
      ]);
      watch.interrupt();
      const result = await watch.done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/ConfigMismatch|exists with/);
    });
  });
});

// The memory backend shares the process's default store with the CLI run in-process: an app here
// is seen by `roster … --url memory:`.
describe('memory, and a backend without inspect()', () => {
  async function memoryApp(namespace: string, ttl = APP_TTL): Promise<NodeDiscovery> {
    const memory = await loadModule('@roster/memory');
    const discovery = await createDiscovery({
      backend: (memory.memoryBackend as (o: object) => DiscoveryBackend)({ namespace }),
      ttl,
    });
    onTestFinished(() => discovery.close());
    return discovery;
  }

  it('the stored ttl wins over ROSTER_TTL too, with one note, and the app is not refused', async () => {
    const namespace = freshNamespace('ro');
    const application = await memoryApp(namespace);
    await application.register({ id: 'api-1' });
    const result = await roster(['get', 'api-1', '--json', '--namespace', namespace, '--url', 'memory:'], {
      env: { ROSTER_TTL: '3000' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'api-1' });
    expect(result.stderr.trim()).toBe(
      `roster: note: namespace ${namespace} has ttl ${APP_TTL} ms; using it instead of ROSTER_TTL 3000`,
    );
  });

  it('watch of an absent namespace ends with exit 0 on Ctrl-C while it waits, creating nothing', async () => {
    const namespace = freshNamespace('ro');
    const watch = new Cli(['watch', '--namespace', namespace, '--url', 'memory:']);
    onTestFinished(() => watch.interrupt());
    await until(
      () => watch.stderr.includes('waiting for it to appear'),
      () => `watch to say it waits\n${watch.stderr}`,
    );
    watch.interrupt();
    expect(await watch.done).toMatchObject({ code: 0, stdout: '' });
    // Had the watch created the namespace (with the CLI's default ttl), this app would be refused.
    await memoryApp(namespace, 2_000);
  });

  it('a backend without inspect() is opened as before, after a warning that this creates the namespace', async () => {
    const memory = await loadModule('@roster/memory');
    const withoutInspect = async (specifier: string): Promise<Module> => {
      if (specifier !== '@roster/memory') return loadModule(specifier);
      return {
        memoryBackend: (options: object) => {
          const backend = (memory.memoryBackend as (o: object) => DiscoveryBackend)(options);
          // A custom backend written before inspect() existed: every member but that one.
          return {
            name: 'custom',
            get supports() {
              return backend.supports;
            },
            open: (context) => backend.open(context),
            put: (key, value, options) => backend.put(key, value, options),
            delete: (key, condition) => backend.delete(key, condition),
            get: (key) => backend.get(key),
            list: () => backend.list(),
            watch: (cursor, onChange) => backend.watch(cursor, onChange),
            history: (key, limit) => backend.history!(key, limit),
            close: () => backend.close(),
          } satisfies DiscoveryBackend;
        },
      };
    };
    const namespace = freshNamespace('ro');
    const result = await roster(['ls', '--namespace', namespace, '--url', 'memory:'], {
      load: withoutInspect,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      `roster: warn: the custom backend has no inspect(): opening namespace ${namespace} to read it, which creates it if it does not exist`,
    );
    expect(result.stderr).toMatch(`no nodes in namespace ${namespace} (memory`);
    // As before this change: the namespace now exists, with the CLI's default ttl.
    expect(await (memory.memoryBackend as (o: object) => DiscoveryBackend)({ namespace }).inspect!()).toEqual(
      {
        exists: true,
        ttl: 10_000,
      },
    );
  });
});
