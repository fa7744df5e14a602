import { MUTANTS } from './mutants.js';
import { CLUSTER_MUTANTS } from './mutants-cluster.js';
import { EDGE_MUTANTS } from './mutants-edges.js';
import { INSPECT_MUTANTS } from './mutants-inspect.js';
import { REDTEAM_MUTANTS } from './mutants-redteam.js';
import { SPI_MUTANTS } from './mutants-spi.js';
import { TEETH_MUTANTS } from './mutants-teeth.js';

/**
 * Every mutant of the gallery: the first ten, the SPI-level ones, those of the cases added for
 * issue 10, of `inspect()`, of the SPI edges made explicit in issue 14, and of the cluster faults
 * of issue 12, and the red team's (broken the way a careless or clever implementer ships it).
 */
export const ALL_MUTANTS = {
  ...MUTANTS,
  ...SPI_MUTANTS,
  ...TEETH_MUTANTS,
  ...INSPECT_MUTANTS,
  ...EDGE_MUTANTS,
  ...CLUSTER_MUTANTS,
  ...REDTEAM_MUTANTS,
};
