import { DataSource } from 'typeorm';
import { SessionEntity } from './src/auth/session.entity.js';
import { loadConfig } from './src/config/step.config.js';
import { buildDataSourceOptions } from './src/database/database.options.js';
import { FILES_ENTITIES } from './src/files/entities/index.js';
import { UserEntity } from './src/users/user.entity.js';

/**
 * The DataSource for the TypeORM CLI (`npm run typeorm -- migration:show`), on the database of the
 * configured STEP_DATA_DIR. The app collects its entities from the feature modules; the CLI has no
 * modules, so they are listed here (`migration:generate` compares them with the schema).
 */
export default new DataSource({
  ...buildDataSourceOptions(loadConfig()),
  entities: [SessionEntity, UserEntity, ...FILES_ENTITIES],
});
