import { SessionEntity } from '../auth/session.entity.js';
import { UserEntity } from '../users/user.entity.js';

/** Every TypeORM entity of stepd (listed, not globbed: ESM builds have no reliable globs). */
export const ENTITIES = [SessionEntity, UserEntity];
