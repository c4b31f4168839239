export * from './step.reply.js';
export * from './step.context.js';
export * from './step-session.js';
export * from './step-pattern.decorator.js';
