// Registers every case of the backend SPI, checked on raw backends (the `backend:` cases).
import type { SuiteContext } from '../harness.js';
import { SPI_AGE_TITLES, spiAgeCases } from './spi-age.js';
import { SPI_CONTINUITY_TITLES, spiContinuityCases } from './spi-continuity.js';
import { SPI_EDGE_TITLES, spiEdgeCases } from './spi-edges.js';
import { SPI_FEED_TITLES, spiFeedCases } from './spi-feed.js';
import { SPI_HEARTBEAT_TITLES, spiHeartbeatCases } from './spi-heartbeats.js';
import { SPI_INSPECT_TITLES, spiInspectCases } from './spi-inspect.js';
import { SPI_NAMESPACE_TITLES, spiNamespaceCases } from './spi-namespaces.js';
import { SPI_RECORD_TITLES, spiRecordCases } from './spi-records.js';
import { SPI_STORE_TITLES, spiStoreCases } from './spi-store.js';
import { SPI_TTL_TITLES, spiTtlCases } from './spi-ttl.js';

/**
 * Every duty of the backend SPI (each sentence of its doc comments), checked on raw backends:
 * core hides many faults (it orders, de-duplicates and confirms), so these cases talk to the
 * backend directly. Titles start with `backend:` and name the duty a failure broke.
 */
export function spiCases(suite: SuiteContext): void {
  spiContinuityCases(suite);
  spiFeedCases(suite);
  spiTtlCases(suite);
  spiHeartbeatCases(suite);
  spiStoreCases(suite);
  spiRecordCases(suite);
  spiAgeCases(suite);
  spiNamespaceCases(suite);
  spiInspectCases(suite);
  spiEdgeCases(suite);
}

export {
  SPI_AGE_TITLES,
  SPI_CONTINUITY_TITLES,
  SPI_EDGE_TITLES,
  SPI_FEED_TITLES,
  SPI_HEARTBEAT_TITLES,
  SPI_INSPECT_TITLES,
  SPI_NAMESPACE_TITLES,
  SPI_RECORD_TITLES,
  SPI_STORE_TITLES,
  SPI_TTL_TITLES,
};
