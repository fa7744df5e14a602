import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeConformance } from '../src/conformance/index.js';
import { mapBackend } from './fixtures/map-backend.js';

// Core's own tests run the suite against the smallest backend that can pass it: the example
// of docs/custom-backend.md (kept identical to that page by the test below).
describeConformance({
  name: 'map (docs example)',
  createBackend: ({ namespace }) => mapBackend({ namespace }),
});

describe('docs/custom-backend.md', () => {
  it('shows the example backend exactly as tested here', () => {
    const page = readFileSync(new URL('../../../docs/custom-backend.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('./fixtures/map-backend.ts', import.meta.url), 'utf8');
    expect(page).toContain(source.trim());
  });
});
