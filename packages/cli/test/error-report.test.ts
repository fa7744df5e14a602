import { BackendAuthError, BackendUnavailableError } from '@roster/core';
import { describe, expect, it } from 'vitest';
import { reportError } from '../src/error-report.js';

describe('reportError', () => {
  it('a refused login gets a credentials hint, not "is the server running?"', () => {
    const report = reportError(
      new BackendAuthError('redis at 127.0.0.1:6379 refused the password (WRONGPASS)'),
    );
    expect(report.hint).toMatch(/user and password/);
    expect(report.hint).not.toMatch(/running/);
    expect(report.exitCode).toBe(1);
  });

  it('an unreachable server still asks whether it is running', () => {
    expect(reportError(new BackendUnavailableError('connection refused')).hint).toMatch(/running/);
  });
});
