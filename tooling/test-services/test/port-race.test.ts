// The probe-then-bind race of the cluster starters: a port probed free is taken by another
// process (here: a server of another "test file") before our member binds it. The stranger
// answers the protocol's readiness check; the member's identity check must refuse it, so that
// our process's bind failure surfaces as AddressInUseError (startMembers then picks new ports
// for every member) instead of a "ready" member that is somebody else.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../src/binary-lookup.js';
import { startBinaryMember } from '../src/binary-service.js';
import { ETCD_ENV_VAR, type EtcdPorts, etcdIsReady } from '../src/etcd.js';
import { answersAsMember } from '../src/etcd-cluster.js';
import { freePort } from '../src/free-port.js';
import { startEtcd, startRedis } from '../src/index.js';
import { AddressInUseError } from '../src/process-server.js';
import { REDIS_ENV_VAR, redisIsReady } from '../src/redis.js';
import { runsConfigFile } from '../src/redis-member.js';
import { useServerBinaries } from './support/binary-mode.js';

useServerBinaries();

const portOf = (url: string) => Number(new URL(url).port);

describe('cluster members on a port a stranger took', () => {
  it('redis: the stranger answers PING but is not ours; the member fails with AddressInUseError', async () => {
    const stranger = await startRedis();
    const port = portOf(stranger.url);
    // The check passes for the process it names and fails for the stranger.
    expect(await redisIsReady('127.0.0.1', port, undefined)).toBe(true);
    let configFile = '';
    const start = startBinaryMember<number>({
      kind: 'redis',
      name: 'race-redis',
      binary: findBinary({ name: 'redis-server', debianPackage: 'redis-server', envVar: REDIS_ENV_VAR }),
      ports: port,
      allPorts: [port],
      prepare: (tempDir) => {
        configFile = join(tempDir, 'redis.conf');
        writeFileSync(configFile, `port ${port}\nbind 127.0.0.1\nsave ""\nappendonly no\n`);
      },
      args: (_port, _dataDir, tempDir) => [join(tempDir, 'redis.conf')],
      url: `redis://127.0.0.1:${port}`,
      isReady: async () =>
        (await runsConfigFile({ host: '127.0.0.1', port }, configFile)) &&
        (await redisIsReady('127.0.0.1', port, undefined)),
      startupTimeoutMs: 10_000,
    });
    await expect(start).rejects.toBeInstanceOf(AddressInUseError);
    expect(await runsConfigFile({ host: '127.0.0.1', port }, configFile)).toBe(false);
  });

  it('etcd: the stranger passes /health but advertises another peer URL; the member fails with AddressInUseError', async () => {
    const stranger = await startEtcd();
    const client = portOf(stranger.url);
    const ports = { client, peer: await freePort() };
    expect(await etcdIsReady('127.0.0.1', client)).toBe(true);
    // The check recognises the stranger on its own ports, and refuses it for ours.
    expect(await answersAsMember((stranger as unknown as { ports: EtcdPorts }).ports)).toBe(true);
    expect(await answersAsMember(ports)).toBe(false);
    const peerUrl = `http://127.0.0.1:${ports.peer}`;
    const start = startBinaryMember({
      kind: 'etcd',
      name: 'race-etcd',
      binary: findBinary({ name: 'etcd', debianPackage: 'etcd-server', envVar: ETCD_ENV_VAR }),
      ports,
      allPorts: [ports.client, ports.peer],
      args: (p, dataDir) => [
        '--name',
        'race',
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `race=${peerUrl}`,
      ],
      url: `http://127.0.0.1:${client}`,
      isReady: async () => (await etcdIsReady('127.0.0.1', client)) && (await answersAsMember(ports)),
      startupTimeoutMs: 10_000,
    });
    await expect(start).rejects.toBeInstanceOf(AddressInUseError);
  });
});
