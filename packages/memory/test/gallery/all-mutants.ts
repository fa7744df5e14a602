import { MUTANTS } from './mutants.js';
import { SPI_MUTANTS } from './mutants-spi.js';
import { TEETH_MUTANTS } from './mutants-teeth.js';

/** Every mutant of the gallery: the first ten, the SPI-level ones, and those of the cases added for issue 10. */
export const ALL_MUTANTS = { ...MUTANTS, ...SPI_MUTANTS, ...TEETH_MUTANTS };
