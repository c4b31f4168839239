import { CreateSchema1764100000000 } from './1764100000000-create-schema.js';
import { CreateInstances1764400000000 } from './1764400000000-create-instances.js';

/** Every PostgreSQL migration, oldest first. */
export const POSTGRES_MIGRATIONS = [CreateSchema1764100000000, CreateInstances1764400000000];
