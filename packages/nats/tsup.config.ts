import { defineConfig } from 'tsup';
import { rosterTsup } from '../../tooling/tsup-config/index.js';

export default defineConfig(rosterTsup());
