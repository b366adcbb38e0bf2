/**
 * destkit's test kit (`destkit/testkit`): prove a destination connector correct.
 *
 * - `runDestination`: run a connector command in-process or as a child process, feed it
 *   messages, collect what it writes; kill it after the Kth echoed state.
 * - `checkProtocolInvariants`: states once, in order, after persistence; stats; exit codes;
 *   TRACE classes.
 * - `describeDestinationConformance`: the conformance suite for vitest.
 * - fast-check arbitraries of catalogs, message streams and fault plans; `withFaults`.
 * - `diffRecords`: compare what a destination holds with what it must hold.
 * - `createMockDestination`: an in-memory destination for tests of tooling.
 * Needs the optional peer dependencies `vitest` and `fast-check`.
 */
import 'reflect-metadata';

export {
  brokenValueArbitrary,
  type CatalogArbitraryOptions,
  catalogArbitrary,
  type FaultPlanOptions,
  faultPlanArbitrary,
  fieldNameArbitrary,
  type GeneratedStatus,
  type GeneratedStream,
  type GeneratedSync,
  PROPERTY_KINDS,
  PROPERTY_SCHEMAS,
  type PropertyKind,
  propertiesArbitrary,
  recordDataArbitrary,
  type SchemaArbitraryOptions,
  type SyncMessagesOptions,
  schemaOf,
  syncMessagesArbitrary,
  validValueArbitrary,
} from './catalog-arbitraries.js';
export {
  type ConformanceCapabilities,
  type ConformanceContext,
  ConformanceFailure,
  ConformanceSession,
  type Dumper,
  type SyncOptions,
} from './conformance/conformance-session.js';
export {
  type DestinationConformanceOptions,
  describeDestinationConformance,
  skipReason,
  uniqueNamespace,
} from './conformance/describe-conformance.js';
export {
  columnOf,
  expectedRow,
  KEEP_NAMES,
  type TypingOptions,
} from './conformance/expected-rows.js';
export { SCENARIOS, type Scenario, type ScenarioNeed } from './conformance/scenarios.js';
export {
  EmitClock,
  globalState,
  type SentRecord,
  TestStream,
  type TestStreamSpec,
  type TestSyncMode,
} from './conformance/test-stream.js';
export { comparableRow, comparableValue } from './conformance/typed-values.js';
export {
  CONNECTOR_METHODS,
  type ConnectorMethod,
  FAULT_FAILURE_TYPES,
  type FaultFailureKind,
  type FaultPlan,
  harnessFaults,
  INJECTED_FAULT_CODE,
  InjectedConfigError,
  InjectedSystemError,
  InjectedTransientError,
  injectedFault,
  withFaults,
} from './fault-injection.js';
export * from './message-arbitraries.js';
export {
  createMockDestination,
  dedupeRows,
  dumpMockTable,
  MOCK_FAILURE_TYPES,
  MOCK_TOKENS,
  MockBackend,
  type MockCall,
  type MockDestination,
  type MockDestinationOptions,
  MockDestinationWriter,
  type MockFailureKind,
  type MockFailurePlan,
  type MockMethod,
  type MockRow,
} from './mock-destination.js';
export {
  checkProtocolInvariants,
  type ProtocolExpectations,
  type ProtocolInput,
} from './protocol-invariants.js';
export {
  canonicalJson,
  type DiffOptions,
  DUMP_META_COLUMNS,
  type DumpedRow,
  diffAtLeastOnce,
  diffRecords,
  diffRow,
  type ExpectedChange,
  type ExpectedRow,
  extractedAtMillis,
  normalizeValue,
} from './record-differ.js';
export {
  type ConnectorOperation,
  type ConnectorUnderTest,
  destkitCliPath,
  type OutputLine,
  type PersistedIds,
  type RunDestinationOptions,
  type RunDestinationResult,
  type RunMode,
  runDestination,
} from './run-destination.js';
