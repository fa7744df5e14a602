// The dashboard page's requests to the `roster ui` process, which notice a refused token.
// Runs in the browser (see ../page-script.ts): self-contained.
import type { PageState } from './page-state.js';
import type { StatusHeader } from './status-header.js';

/** A same-origin request; a 401 puts the page in the `unauthorized` state. */
export type PageApi = (path: string, init?: RequestInit) => Promise<Response>;

export function pageApi(state: PageState, header: StatusHeader): PageApi {
  return async (path, init) => {
    const response = await fetch(path, { credentials: 'same-origin', ...init });
    if (response.status === 401) {
      state.stream = 'unauthorized';
      header.render();
    }
    return response;
  };
}
