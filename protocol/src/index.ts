export * from './errors.js';
export * from './media.js';
export * from './messages.js';
export * from './parse.js';
export * from './simulcast.js';
export * from './status.js';
