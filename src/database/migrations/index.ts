import { CreateSessions1764100000000 } from './1764100000000-create-sessions.js';

/** Every migration, oldest first. */
export const MIGRATIONS = [CreateSessions1764100000000];
