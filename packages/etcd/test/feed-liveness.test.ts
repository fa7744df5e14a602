// Pure logic of telling a watch stream's member went silent: probes on a quiet stream, the verdict (fake timers).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FeedLiveness, PROBE_AFTER_MS, SILENT_AFTER_MS } from '../src/feed-liveness.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function liveness(suspect = false) {
  const actions = { probe: vi.fn(), silent: vi.fn(), memberSuspect: vi.fn(() => suspect) };
  const check = new FeedLiveness(actions);
  check.start();
  return { check, actions };
}

describe('FeedLiveness', () => {
  it('a stream that keeps talking is never probed nor given up', () => {
    const { check, actions } = liveness();
    for (let t = 0; t < SILENT_AFTER_MS * 5; t += PROBE_AFTER_MS / 2) {
      vi.advanceTimersByTime(PROBE_AFTER_MS / 2);
      check.heard();
    }
    expect(actions.probe).not.toHaveBeenCalled();
    expect(actions.silent).not.toHaveBeenCalled();
    check.stop();
  });

  it('a quiet stream is probed once per PROBE_AFTER_MS; answered probes keep it', () => {
    const { check, actions } = liveness();
    vi.advanceTimersByTime(PROBE_AFTER_MS - 1);
    expect(actions.probe).not.toHaveBeenCalled();
    vi.advanceTimersByTime(300);
    expect(actions.probe).toHaveBeenCalledTimes(1);
    // The member answers every probe: an idle watch stays where it is, however long.
    for (let i = 0; i < 20; i++) {
      check.heard();
      vi.advanceTimersByTime(PROBE_AFTER_MS + 300);
    }
    expect(actions.probe).toHaveBeenCalledTimes(21);
    expect(actions.silent).not.toHaveBeenCalled();
    check.stop();
  });

  it('a stream silent for SILENT_AFTER_MS, probes unanswered, is given up once, within 250 ms of it', () => {
    const { actions } = liveness();
    vi.advanceTimersByTime(SILENT_AFTER_MS - 1);
    expect(actions.silent).not.toHaveBeenCalled();
    expect(actions.probe.mock.calls.length).toBeGreaterThanOrEqual(2);
    vi.advanceTimersByTime(250);
    expect(actions.silent).toHaveBeenCalledTimes(1);
    expect(actions.silent.mock.calls[0]![0]).toBeGreaterThanOrEqual(SILENT_AFTER_MS);
    vi.advanceTimersByTime(SILENT_AFTER_MS * 3);
    expect(actions.silent).toHaveBeenCalledTimes(1);
  });

  it('on a member other calls found silent, one unanswered probe is enough', () => {
    const { actions } = liveness(true);
    vi.advanceTimersByTime(PROBE_AFTER_MS + 250);
    expect(actions.probe).toHaveBeenCalledTimes(1);
    expect(actions.silent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(PROBE_AFTER_MS);
    expect(actions.silent).toHaveBeenCalledTimes(1);
  });

  it('a suspect member that answers its probe keeps the stream', () => {
    const { check, actions } = liveness(true);
    vi.advanceTimersByTime(PROBE_AFTER_MS + 250);
    check.heard();
    vi.advanceTimersByTime(PROBE_AFTER_MS - 100);
    expect(actions.silent).not.toHaveBeenCalled();
    check.stop();
  });

  it('stop() ends the checks; start() counts silence afresh for a new stream', () => {
    const { check, actions } = liveness();
    vi.advanceTimersByTime(SILENT_AFTER_MS - 500);
    check.stop();
    vi.advanceTimersByTime(SILENT_AFTER_MS * 2);
    expect(actions.silent).not.toHaveBeenCalled();
    check.start();
    vi.advanceTimersByTime(SILENT_AFTER_MS - 1);
    expect(actions.silent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(250);
    expect(actions.silent).toHaveBeenCalledTimes(1);
  });
});
