export { type MemoryBackendOptions, memoryBackend } from './memory-backend.js';
export { createMemoryStore, type MemoryStore, type MemoryStoreFaults } from './memory-store.js';
