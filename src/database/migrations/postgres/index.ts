import { CreateSchema1764100000000 } from './1764100000000-create-schema.js';

/** Every PostgreSQL migration, oldest first. */
export const POSTGRES_MIGRATIONS = [CreateSchema1764100000000];
