// The harness's own sabotage: a backend whose feed loses every delete, as a broken backend would.
import type { BackendChange, BackendWatch } from '@roster/core';
import { DelegatingBackend } from '@roster/core/conformance';

/** A feed that never reports a delete: what `sabotage: 'drop-deletes'` gives the watchers. */
export class DropsDeletes extends DelegatingBackend {
  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    return super.watch(cursor, (change) => {
      if (change.type !== 'delete') onChange(change);
    });
  }
}
