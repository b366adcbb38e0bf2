/**
 * DI tokens a connector binds or injects (inversify 8). Every token says which module is
 * expected to bind it, so a missing binding fails at start naming both.
 */
export const TOKENS = {
  /** The connector's DestinationWriter — bound by the connector's DI module. */
  DestinationWriter: Symbol.for('destkit.DestinationWriter'),
  /** The validated config with spec defaults applied (JsonObject) — bound by destkit per sync. */
  Config: Symbol.for('destkit.Config'),
  /** The DestinationCatalog of the sync — bound by destkit per sync. */
  Catalog: Symbol.for('destkit.Catalog'),
  /** A pino Logger, secrets redacted — bound by destkit in the root container. */
  Logger: Symbol.for('destkit.Logger'),
  /** The resolved runtime knobs (Knobs) — bound by destkit per sync. */
  Knobs: Symbol.for('destkit.Knobs'),
} as const;

/** Which module is expected to bind each token; used in missing-binding errors. */
export const TOKEN_OWNERS: ReadonlyMap<symbol, string> = new Map([
  [TOKENS.DestinationWriter, "the connector's DI module (ConnectorDefinition.module)"],
  [TOKENS.Config, 'destkit (per-sync container)'],
  [TOKENS.Catalog, 'destkit (per-sync container)'],
  [TOKENS.Logger, 'destkit (root container)'],
  [TOKENS.Knobs, 'destkit (per-sync container)'],
]);
