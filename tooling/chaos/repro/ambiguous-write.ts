// Reproduction of a lost update found by the chaos run on a 3-member etcd cluster (seed 1202,
// docs/reliability.md), without servers: `node --import tsx repro/ambiguous-write.ts` in
// tooling/chaos (uses the built packages). Expected once fixed: the owner and the other instance
// show the same load and metadata. Today: a re-register whose put lands but whose answer is lost (the call
// rejects), on a backend with silent heartbeats (etcd's lease keep-alive). The owner adopts the
// stored revision but keeps its old content; its silent heartbeats then keep the store as the
// failed call left it: the owner's get() and every other instance disagree until the next write.
import type { BackendEntry, PutOptions, PutResult } from '@roster/core';
import { createDiscovery, type NodeInfo } from '@roster/core';
import { DelegatingBackend } from '@roster/core/conformance';
import { createMemoryStore, memoryBackend } from '@roster/memory';

class SilentAndFlaky extends DelegatingBackend {
  failNextPut = false;
  override get supports() {
    return { ...this.inner.supports, silentHeartbeats: true };
  }
  override async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    // A plain heartbeat as etcd does it under its lease plan: compare the revision, write nothing.
    if (options.refreshOnly && typeof options.expectedRevision === 'number') {
      const current: BackendEntry | undefined = await this.inner.get(key);
      if (!current || current.revision !== options.expectedRevision) return { ok: false };
      return { ok: true, revision: current.revision };
    }
    const result = await this.inner.put(key, value, options);
    if (this.failNextPut) {
      this.failNextPut = false;
      throw new Error('14 UNAVAILABLE: Connection dropped (the write landed, the answer was lost)');
    }
    return result;
  }
}

const store = createMemoryStore();
const flaky = new SilentAndFlaky(memoryBackend({ store, namespace: 'amb' }));
const owner = await createDiscovery({ backend: flaky, ttl: 6_000 });
const other = await createDiscovery({ backend: memoryBackend({ store, namespace: 'amb' }), ttl: 6_000 });
await owner.register({ id: 'x', load: 1, metadata: { v: '1' } });
flaky.failNextPut = true;
await owner.register({ id: 'x', load: 2, metadata: { v: '2' } }).then(
  () => console.log('register resolved'),
  (error: Error) => console.log(`register rejected: ${error.message}`),
);
await new Promise((resolve) => setTimeout(resolve, 3_000)); // several heartbeats (ttl / 3 = 2 s)
const show = (n: NodeInfo | undefined) =>
  n ? `load ${n.load}, metadata ${JSON.stringify(n.metadata)}` : 'absent';
console.log(`owner.get: ${show(owner.get('x'))}`);
console.log(`other.get: ${show(other.get('x'))}`);
console.log(`other.list: ${show(other.list().find((n) => n.id === 'x'))}`);
const same = show(owner.get('x')) === show(other.get('x'));
console.log(same ? 'OK: owner and other agree' : 'DIVERGED: the owner and the other instance disagree');
process.exitCode = same ? 0 : 1;
await owner.close({ unregister: false });
await other.close();
