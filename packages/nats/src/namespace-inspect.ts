import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BackendUnavailableError, ConfigMismatchError, type NamespaceInspection } from '@roster/core';
import { withDeadline } from '@roster/core/spi';
import { connectionOptionsOf, type NatsBackendOptions, type NatsSettings } from './nats-backend-options.js';
import { clientTimeout, DEFAULT_CONNECT_TIMEOUT, openConnection, openJetStream } from './nats-connection.js';
import { toBackendError } from './nats-errors.js';

/**
 * `inspect()` of the NATS backend: one stream info request for the records bucket's stream, never
 * `kvm.create` (which would create the bucket), so a read-only look leaves the server as it was.
 * The ttl is the bucket's MaxAge as nats.js reports a KV bucket's ttl (ns floored to whole ms):
 * what `open()` compares a ttl with. A connection of our own is closed before this settles; a
 * connection the user passed in is used and left open.
 */
export async function inspectRecordsBucket(
  options: NatsBackendOptions,
  settings: NatsSettings,
): Promise<NamespaceInspection> {
  const { layout, server, requestTimeout } = settings;
  const limit = Math.max(options.timeout ?? DEFAULT_CONNECT_TIMEOUT, requestTimeout);
  let own: NatsConnection | undefined;
  const look = async (): Promise<NamespaceInspection> => {
    let nc = options.connection;
    if (!nc) {
      own = await openConnection(connectionOptionsOf(options));
      nc = own;
    }
    const jsm = await openJetStream(nc, server, clientTimeout(requestTimeout));
    let maxAge: number;
    try {
      maxAge = (await jsm.streams.info(layout.stream)).config.max_age;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
        return { exists: false };
      throw toBackendError(error, `inspection of bucket "${layout.records}"`, server);
    }
    const ttl = Math.floor(maxAge / 1_000_000);
    if (ttl < 1)
      throw new ConfigMismatchError(
        `NATS KV bucket "${layout.records}" exists without a TTL (MaxAge): Roster did not create it; use another namespace or delete the bucket`,
      );
    return { exists: true, ttl };
  };
  const release = async () => {
    if (own && !own.isClosed()) await own.close().catch(() => {});
  };
  const work = look();
  try {
    return await withDeadline(
      work,
      limit,
      () =>
        new BackendUnavailableError(
          `NATS at ${server} did not answer the inspection of bucket "${layout.records}" within ${limit} ms`,
        ),
    );
  } catch (error) {
    // Timed out: the abandoned look releases its connection whenever it ends.
    void work.then(release, release);
    throw error;
  } finally {
    await release();
  }
}
