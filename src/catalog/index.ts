export * from './configured-catalog.js';
export * from './destination-catalog.js';
export * from './destination-stream.js';
