export * from './config-errors.js';
export * from './json-file.js';
export * from './load-config.js';
export * from './schema-validator.js';
export * from './secret-fields.js';
export * from './secret-redactor.js';
