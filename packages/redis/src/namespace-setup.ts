// Opening a namespace on Redis: connect, check the server, create or verify the namespace's config.
import { BackendUnavailableError, ConfigMismatchError, type Logger } from '@roster/core';
import { LAYOUT_VERSION } from './key-layout.js';
import { defineRosterCommands, type RosterCommands } from './lua-scripts.js';
import { type AnyClient, connect, reportDurability } from './redis-connection.js';
import { MIN_REDIS_VERSION, parseServerInfo, versionAtLeast } from './server-info.js';

/** What setting up a namespace needs to know. */
export interface NamespaceSetup {
  /** KEYS[1..6] of the scripts. */
  readonly baseKeys: readonly string[];
  readonly namespace: string;
  readonly ttl: number;
  readonly requestTimeout: number;
  readonly logger: Logger;
}

/**
 * Connects, checks the server (Redis >= 6.2) and sets up the namespace, or verifies an existing
 * one was made with the same ttl and key layout (`ConfigMismatchError` otherwise); returns the
 * client with the backend's scripts defined on it.
 */
export async function prepareNamespace(
  client: AnyClient,
  setup: NamespaceSetup,
): Promise<AnyClient & RosterCommands> {
  await connect(client, setup.requestTimeout);
  const commands = defineRosterCommands(client);
  const info = parseServerInfo(await client.info('server'));
  if (!versionAtLeast(info.version, MIN_REDIS_VERSION))
    throw new BackendUnavailableError(
      `Redis ${info.version} is too old for @roster/redis, which needs Redis >= ${MIN_REDIS_VERSION} (XPENDING IDLE, scripts replicated by effect)`,
    );
  const [storedTtl, layout] = await commands.rosterOpenV2(...setup.baseKeys, String(setup.ttl));
  if (layout !== LAYOUT_VERSION)
    throw new ConfigMismatchError(
      `redis namespace "${setup.namespace}" uses key layout ${JSON.stringify(layout)}; this version of @roster/redis reads layout ${LAYOUT_VERSION} (use another namespace, or remove the old keys {roster:${setup.namespace}}:*)`,
    );
  if (storedTtl !== String(setup.ttl))
    throw new ConfigMismatchError(
      `redis namespace "${setup.namespace}" exists with ttl ${storedTtl} ms; this instance asked for ${setup.ttl} ms`,
    );
  await reportDurability(client, setup.logger, setup.namespace);
  return commands;
}
