export * from './step.constants.js';
export * from './step-status.js';
export * from './step.error.js';
export * from './step.reply.js';
export * from './step.context.js';
export * from './step-session.js';
export * from './step-pattern.decorator.js';
