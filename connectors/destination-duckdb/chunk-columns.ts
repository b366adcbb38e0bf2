/**
 * One column of a DuckDB data chunk while rows are encoded into it: values go into a typed array
 * (or a list of strings), and `write` hands the whole column to the chunk's vector at once — one
 * copy for fixed-width values and the validity mask, one call per string, a constant vector for
 * a value every row shares. The buffers are reused from chunk to chunk (the vector keeps a copy).
 *
 * Terms:
 * - row: 0 ≤ row < CHUNK_ROWS, the row of the chunk being filled;
 * - valid: a row holds a value; every row is valid until `setNull`, and valid again after
 *   `write` (rows are written in order, each exactly once per chunk).
 * Layouts are DuckDB's own: int64 / double / int32 (DATE days) / one byte per BOOLEAN, in the
 * machine's byte order; the validity mask is uint64 words, bit `row % 64` of word `row / 64`.
 */
import { randomFillSync } from 'node:crypto';
import { endianness } from 'node:os';
import type { DuckDBValue } from '@duckdb/node-api';
import { bindings, type DuckDbValueHandle, type DuckDbVector, nodeApi } from './duckdb-bindings.js';
import { DuckDbError } from './duckdb-errors.js';

/** Rows per data chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;

const LITTLE_ENDIAN = endianness() === 'LE';
/** Index of the low / high 32-bit half of an int64 in a Uint32Array view. */
const LOW = LITTLE_ENDIAN ? 0 : 1;
const HIGH = 1 - LOW;
const TWO_POW_32 = 2 ** 32;

if (bindings.sizeof_bool !== 1) {
  throw new DuckDbError(
    `unsupported platform: a DuckDB BOOLEAN takes ${bindings.sizeof_bool} bytes`,
  );
}

export abstract class ChunkColumn {
  /** One bit per row, 1 = valid, little-endian bit order within each byte. */
  private readonly validBits = new Uint8Array(CHUNK_ROWS / 8).fill(0xff);
  private readonly mask = new BigUint64Array(CHUNK_ROWS / 64);
  private hasNulls = false;

  setNull(row: number): void {
    (this.validBits[row >> 3] as number) &= ~(1 << (row & 7));
    this.hasNulls = true;
  }

  /** Forgets the rows of an unfinished chunk (an encode that threw). */
  reset(): void {
    this.validBits.fill(0xff);
    this.hasNulls = false;
  }

  /** A value of the generic path (row-encoder's `encoderFor`); null sets the row null. */
  abstract setValue(row: number, value: DuckDBValue): void;

  /** Hands rows [0, rows) to `vector` (of a chunk with `rows` rows) and starts a new chunk. */
  write(vector: DuckDbVector, rows: number): void {
    this.writeValues(vector, rows);
    if (!this.hasNulls) return;
    const words = Math.ceil(rows / 64);
    const bytes = new DataView(this.validBits.buffer);
    for (let w = 0; w < words; w++) this.mask[w] = bytes.getBigUint64(w * 8, true);
    bindings.vector_ensure_validity_writable(vector);
    bindings.copy_data_to_vector_validity(vector, 0, this.mask.buffer, 0, words * 8);
    this.reset();
  }

  protected isValid(row: number): boolean {
    return ((this.validBits[row >> 3] as number) & (1 << (row & 7))) !== 0;
  }

  protected abstract writeValues(vector: DuckDbVector, rows: number): void;
}

/** A column of fixed-width values, copied to the vector as they lie in `values`. */
abstract class FixedWidthColumn extends ChunkColumn {
  protected abstract readonly values:
    | BigInt64Array<ArrayBuffer>
    | Float64Array<ArrayBuffer>
    | Int32Array<ArrayBuffer>
    | Uint8Array<ArrayBuffer>;

  protected writeValues(vector: DuckDbVector, rows: number): void {
    const { values } = this;
    bindings.copy_data_to_vector(vector, 0, values.buffer, 0, rows * values.BYTES_PER_ELEMENT);
  }
}

/** BIGINT, TIMESTAMP, TIMESTAMPTZ, TIME (microseconds) and TIMETZ (its 64 bits). */
export class Int64Column extends FixedWidthColumn {
  protected readonly values = new BigInt64Array(CHUNK_ROWS);
  private readonly halves = new Uint32Array(this.values.buffer);

  /** `value` in int64 (or TIMETZ bits in uint64: stored modulo 2^64, the same bits). */
  setBigInt(row: number, value: bigint): void {
    this.values[row] = value;
  }

  /** A safe integer (|n| < 2^53), written without making a bigint. */
  setSafeInteger(row: number, value: number): void {
    const high = Math.floor(value / TWO_POW_32);
    this.halves[2 * row + LOW] = value - high * TWO_POW_32;
    this.halves[2 * row + HIGH] = high; // stored modulo 2^32: two's complement
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) this.setNull(row);
    else if (typeof value === 'bigint') this.setBigInt(row, value);
    else if (
      value instanceof nodeApi.DuckDBTimestampTZValue ||
      value instanceof nodeApi.DuckDBTimestampValue
    )
      this.setBigInt(row, value.micros);
    else if (value instanceof nodeApi.DuckDBTimeValue) this.setBigInt(row, value.micros);
    else if (value instanceof nodeApi.DuckDBTimeTZValue) this.setBigInt(row, value.bits);
    else throw new DuckDbError('an int64 column was given a value of another type');
  }
}

/** DOUBLE. */
export class Float64Column extends FixedWidthColumn {
  protected readonly values = new Float64Array(CHUNK_ROWS);

  set(row: number, value: number): void {
    this.values[row] = value;
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) this.setNull(row);
    else if (typeof value === 'number') this.set(row, value);
    else throw new DuckDbError('a DOUBLE column was given a value of another type');
  }
}

/** DATE: days since 1970-01-01. */
export class DateColumn extends FixedWidthColumn {
  protected readonly values = new Int32Array(CHUNK_ROWS);

  set(row: number, days: number): void {
    this.values[row] = days;
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) this.setNull(row);
    else if (value instanceof nodeApi.DuckDBDateValue) this.set(row, value.days);
    else throw new DuckDbError('a DATE column was given a value of another type');
  }
}

/** BOOLEAN. */
export class BooleanColumn extends FixedWidthColumn {
  protected readonly values = new Uint8Array(CHUNK_ROWS);

  set(row: number, value: boolean): void {
    this.values[row] = value ? 1 : 0;
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) this.setNull(row);
    else if (typeof value === 'boolean') this.set(row, value);
    else throw new DuckDbError('a BOOLEAN column was given a value of another type');
  }
}

/** VARCHAR and JSON (its text). */
export class StringColumn extends ChunkColumn {
  private readonly values = new Array<string>(CHUNK_ROWS).fill('');

  set(row: number, value: string): void {
    this.values[row] = value;
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) this.setNull(row);
    else if (typeof value === 'string') this.set(row, value);
    else throw new DuckDbError('a text column was given a value of another type');
  }

  protected writeValues(vector: DuckDbVector, rows: number): void {
    const values = this.values;
    for (let row = 0; row < rows; row++) {
      if (this.isValid(row)) bindings.vector_assign_string_element(vector, row, values[row] ?? '');
    }
  }
}

/**
 * Text that is the same in most rows (`_airbyte_meta` of a record without changes): a chunk
 * whose rows all hold the common text becomes a constant vector; otherwise each row's text is
 * written.
 */
export class MostlyConstantTextColumn extends ChunkColumn {
  private readonly values = new Array<string | undefined>(CHUNK_ROWS).fill(undefined);
  private exceptions = 0;
  private readonly commonValue: DuckDbValueHandle;

  constructor(private readonly common: string) {
    super();
    this.commonValue = bindings.create_varchar(common);
  }

  setCommon(row: number): void {
    this.values[row] = undefined;
  }

  set(row: number, value: string): void {
    this.values[row] = value;
    this.exceptions++;
  }

  setValue(row: number, value: DuckDBValue): void {
    if (value === null) {
      this.values[row] = undefined;
      this.setNull(row);
      this.exceptions++;
    } else if (typeof value === 'string') {
      this.set(row, value);
    } else {
      throw new DuckDbError('a text column was given a value of another type');
    }
  }

  override reset(): void {
    super.reset();
    this.exceptions = 0;
  }

  protected writeValues(vector: DuckDbVector, rows: number): void {
    if (this.exceptions === 0) {
      bindings.vector_reference_value(vector, this.commonValue);
      return;
    }
    for (let row = 0; row < rows; row++) {
      if (this.isValid(row)) {
        bindings.vector_assign_string_element(vector, row, this.values[row] ?? this.common);
      }
    }
    this.exceptions = 0;
  }
}

/** One value in every row (a constant vector), e.g. the stream's generation id. */
export class ConstantColumn extends ChunkColumn {
  constructor(private readonly value: DuckDbValueHandle) {
    super();
  }

  setValue(): void {
    throw new DuckDbError('a constant column takes no values');
  }

  protected writeValues(vector: DuckDbVector): void {
    bindings.vector_reference_value(vector, this.value);
  }
}

/** Null in every row, of any type (a column no property writes any more). */
export class NullColumn extends ChunkColumn {
  private readonly zeros = new BigUint64Array(CHUNK_ROWS / 64);

  setValue(): void {
    throw new DuckDbError('a null column takes no values');
  }

  protected writeValues(vector: DuckDbVector, rows: number): void {
    bindings.vector_ensure_validity_writable(vector);
    bindings.copy_data_to_vector_validity(
      vector,
      0,
      this.zeros.buffer,
      0,
      Math.ceil(rows / 64) * 8,
    );
  }
}

/**
 * A random (version 4) UUID in every row, as DuckDB's UUID type: a chunk column of type UUID
 * that the Appender casts to the table's VARCHAR column (lower-case, hyphenated: what
 * `crypto.randomUUID()` writes). Random bytes come from the same CSPRNG as randomUUID.
 *
 * DuckDB stores a UUID as a hugeint (lower uint64, then upper int64) whose top bit is flipped;
 * the version nibble (text digit 12) is bits 12–15 of the upper half, the variant (text digit
 * 16, `10xx`) bits 62–63 of the lower half — neither is touched by the flip.
 */
export class RandomUuidColumn extends ChunkColumn {
  private readonly bytes = new Uint8Array(CHUNK_ROWS * 16);
  private readonly words = new Uint32Array(this.bytes.buffer);

  setValue(): void {
    throw new DuckDbError('a random UUID column takes no values');
  }

  protected writeValues(vector: DuckDbVector, rows: number): void {
    randomFillSync(this.bytes, 0, rows * 16);
    const words = this.words;
    for (let row = 0; row < rows; row++) {
      const lowerHigh = 4 * row + HIGH; // bits 32–63 of the lower half
      const upperLow = 4 * row + 2 + LOW; // bits 0–31 of the upper half
      words[lowerHigh] = ((words[lowerHigh] as number) & 0x3fffffff) | 0x80000000;
      words[upperLow] = ((words[upperLow] as number) & ~0xf000) | 0x4000;
    }
    bindings.copy_data_to_vector(vector, 0, this.bytes.buffer, 0, rows * 16);
  }
}

/** Values that go nowhere (a property without a column: still coerced, for its changes). */
export class DiscardedColumn extends ChunkColumn {
  override setNull(): void {}

  setValue(): void {}

  protected writeValues(): void {}
}

/** The buffer of a column of this (normalized) type, or undefined for a type destkit never writes. */
export function columnFor(type: string): ChunkColumn | undefined {
  switch (type) {
    case 'VARCHAR':
    case 'JSON':
      return new StringColumn();
    case 'BIGINT':
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP':
    case 'TIME':
    case 'TIMETZ':
      return new Int64Column();
    case 'DOUBLE':
      return new Float64Column();
    case 'DATE':
      return new DateColumn();
    case 'BOOLEAN':
      return new BooleanColumn();
    default:
      return undefined;
  }
}
