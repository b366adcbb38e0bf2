import { describe, expect, it } from 'vitest';
import {
  HybridRefreshError,
  InvalidCatalogError,
  resolveCatalog,
} from '../../src/catalog/destination-catalog.js';
import { classifyError } from '../../src/errors/classify-error.js';
import { catalog } from '../helpers/messages.js';

describe('resolveCatalog', () => {
  it('resolves import types and generations', () => {
    const resolved = resolveCatalog(
      catalog([
        { name: 'a' },
        { name: 'b', namespace: 'n', mode: 'append_dedup', pk: [['id']], cursor: ['updated_at'] },
        { name: 'c', mode: 'overwrite' },
        { name: 'd', gen: 5, minGen: 5 },
        { name: 'e', gen: 5, minGen: 0 },
      ]),
    );
    expect(resolved.streams.map((s) => [s.label, s.importType.kind, s.shouldTruncate])).toEqual([
      ['a', 'append', false],
      ['n.b', 'dedupe', false],
      ['c', 'overwrite', true],
      ['d', 'append', true],
      ['e', 'append', false],
    ]);
    expect(resolved.find('n', 'b')?.importType).toEqual({
      kind: 'dedupe',
      primaryKey: [['id']],
      cursor: ['updated_at'],
    });
    expect(resolved.find(null, 'a')?.name).toBe('a');
    expect(resolved.find('other', 'a')).toBeUndefined();
  });

  it('requires a primary key for append_dedup', () => {
    expect(() => resolveCatalog(catalog([{ name: 'a', mode: 'append_dedup' }]))).toThrow(
      'catalog.streams[0].primary_key is required (non-empty) for destination_sync_mode append_dedup',
    );
  });

  it('refuses a repeated stream, an empty catalog and a bad mode, as config errors', () => {
    for (const raw of [
      catalog([
        { name: 'a', namespace: 'x' },
        { name: 'a', namespace: 'x' },
      ]),
      { streams: [] },
      catalog([{ name: 'a', mode: 'upsert' }]),
      'not a catalog',
    ]) {
      let error: unknown;
      try {
        resolveCatalog(raw);
      } catch (e) {
        error = e;
      }
      expect(classifyError(error).failureType).toBe('config_error');
    }
    expect(() => resolveCatalog(catalog([{ name: 'a', mode: 'upsert' }]))).toThrow(
      'catalog.streams[0].destination_sync_mode must be one of: append, overwrite, append_dedup, update, soft_delete',
    );
    expect(() => resolveCatalog(catalog([{ name: 'a' }, { name: 'a' }]))).toThrow(
      InvalidCatalogError,
    );
  });

  it('refuses a hybrid refresh as a system error', () => {
    expect(() => resolveCatalog(catalog([{ name: 'a', gen: 5, minGen: 3 }]))).toThrow(
      HybridRefreshError,
    );
  });
});
