/**
 * `check` of the DuckDB connector: opens (creating when missing) the database file, creates and
 * drops a probe table in the default schema, closes. Any failure names the path.
 */
import { randomUUID } from 'node:crypto';
import { sanitizeName } from '../../src/schema/name-mapper.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import type { CheckContext } from '../../src/write/connector-definition.js';
import { toDuckDbConfig } from './duckdb-config.js';
import { DuckDbDatabase, queryRows } from './duckdb-database.js';
import { duckdbError } from './duckdb-errors.js';
import { createSchemaSql, createTableSql, dropTableSql, quote } from './duckdb-sql.js';

export async function checkDuckDb({ config, logger }: CheckContext): Promise<void> {
  const { path, schema: rawSchema } = toDuckDbConfig(config);
  const schema = sanitizeName(rawSchema, DUCKDB_NAMING);
  const db = await DuckDbDatabase.open(path, logger);
  try {
    await db.transaction(async (connection) => {
      const existed =
        (
          await queryRows(
            connection,
            'SELECT 1 FROM duckdb_schemas() WHERE database_name = $1 AND lower(schema_name) = lower($2)',
            [db.catalog, schema],
          )
        ).length > 0;
      await connection.run(createSchemaSql(db.catalog, schema));
      const probe = { catalog: db.catalog, schema, table: `_destkit_check_${randomUUID()}` };
      await connection.run(createTableSql(probe, [{ identifier: 'probe', type: 'BIGINT' }]));
      await connection.run(dropTableSql(probe));
      if (!existed) {
        await connection.run(`DROP SCHEMA ${quote(db.catalog)}.${quote(schema)}`);
      }
    });
  } catch (error) {
    throw duckdbError(error, `create a probe table in schema ${JSON.stringify(schema)}`, { path });
  } finally {
    await db.close();
  }
  logger.info({ path, schema }, 'duckdb check: the database file is writable');
}
