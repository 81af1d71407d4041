import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { storageConformance } from './conformance.js';

storageConformance('MemoryStorage', {
  create: async () => {
    const adapter = new MemoryStorage();
    return { adapter, reopen: () => adapter };
  },
});
