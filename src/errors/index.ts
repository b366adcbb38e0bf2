export * from './classify-error.js';
export * from './destkit-error.js';
export * from './input-errors.js';
