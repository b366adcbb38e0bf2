import { describe, expect, it } from 'vitest';
import { DEFAULT_KNOBS, InvalidKnobError, resolveKnobs } from '../../src/config/knobs.js';

describe('resolveKnobs', () => {
  it('returns the defaults when nothing is set', () => {
    expect(resolveKnobs({}, undefined)).toEqual(DEFAULT_KNOBS);
    expect(DEFAULT_KNOBS.maxLineBytes).toBe(100 * 1024 * 1024);
  });

  it('reads DESTKIT_ environment variables', () => {
    const knobs = resolveKnobs({ DESTKIT_BATCH_SIZE_BYTES: '1024', DESTKIT_TEMP_DIR: '/var/tmp' });
    expect(knobs.batchSizeBytes).toBe(1024);
    expect(knobs.tempDir).toBe('/var/tmp');
  });

  it('prefers the connector config over the environment', () => {
    const knobs = resolveKnobs({ DESTKIT_BATCH_SIZE_BYTES: '1024' }, { batch_size_bytes: 2048 });
    expect(knobs.batchSizeBytes).toBe(2048);
  });

  it('names the source and the rule of a bad value', () => {
    expect(() => resolveKnobs({ DESTKIT_PROCESS_RECORDS_WORKERS: '0' })).toThrow(
      'DESTKIT_PROCESS_RECORDS_WORKERS must be an integer >= 1',
    );
    expect(() => resolveKnobs({}, { max_line_bytes: 'lots' })).toThrow(
      'config.destkit.max_line_bytes must be an integer >= 1',
    );
    expect(() => resolveKnobs({}, { max_line_bytes: 'lots' })).toThrow(InvalidKnobError);
  });

  it('refuses an unknown knob in the config', () => {
    expect(() => resolveKnobs({}, { batch_bytes: 1 })).toThrow(
      'config.destkit.batch_bytes is not a known knob',
    );
  });
});
